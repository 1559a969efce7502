"""A small, fast, deterministic training job for the controller's tests.

Score: 1 - (x - 0.3)^2 - (log10(lr) + 2)^2 / 10 + a bonus per choice. Behaviour switches come
from the environment (the study's ``job.env``), so one script serves every failure test.
"""

import json
import math
import os
import sys
import time
from pathlib import Path

from evotune.trial import report

config = json.loads(os.environ["EVOTUNE_CONFIG"])
out = Path(os.environ["EVOTUNE_OUTPUT_DIR"])
trial = int(os.environ["EVOTUNE_TRIAL_ID"])
behaviour = os.environ.get("TOY_BEHAVIOUR", "ok")
(out / "argv.json").write_text(json.dumps(sys.argv[1:]))
(out / "env.json").write_text(json.dumps({k: v for k, v in os.environ.items() if k.startswith("EVOTUNE_")}))

time.sleep(float(os.environ.get("TOY_SLEEP", "0")))

if behaviour == "crash":
    print("about to crash", file=sys.stderr)
    sys.exit(3)
if behaviour == "hang":
    time.sleep(3600)
if behaviour == "flaky":
    marker = Path(os.environ["TOY_MARKERS"]) / f"trial-{trial}"
    if not marker.exists():
        marker.write_text("failed once")
        sys.exit(4)
if behaviour == "nan":
    report(score=float("nan"))
    sys.exit(0)
if behaviour == "silent":
    sys.exit(0)

x = float(config.get("x", 0.5))
lr = float(config.get("lr", 0.01))
bonus = {"a": 0.0, "b": 0.05, "c": 0.1}.get(str(config.get("choice", "a")), 0.0)
score = 1.0 - (x - 0.3) ** 2 - (math.log10(lr) + 2.0) ** 2 / 10.0 + bonus
report(score=score * 0.5, step=0)
report(score=score)
