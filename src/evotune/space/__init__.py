"""The search space: parameter kinds and the encoding of a config as a vector in [0, 1]^d.

Strategies work on vectors; training jobs get configs (``{name: value}``, JSON scalars).
:class:`Space` maps one to the other. Encoding, by kind:

- ``Float``: one continuous coordinate, linear or log in the value; decoded values are snapped
  to a decimal grid (12 significant digits on a log scale) so that written values round-trip
  exactly.
- ``Int``: linear: one discrete coordinate, the bin centres (k + 0.5)/n with step 1/n;
  log: one continuous coordinate, log-uniform over [low - 0.5, high + 0.5], rounded.
- ``Categorical``: a one-hot block of continuous coordinates, decoded by argmax (first on ties).
- ``Fixed``: no coordinate; always in the config.

A conditional parameter (``when={"kernel": ["rbf"]}``) keeps its coordinates; when it is
inactive it is absent from the config and its coordinates are ignored.

Vectors are clipped into [0, 1]; a NaN or a wrong length raises ConfigError. A bad space raises
SpecError naming the field (``space.lr.low: must be > 0 for a log scale, got -1``).
"""

from ._base import Param
from ._choices import Categorical, Fixed
from ._numbers import Float, Int
from ._space import Space
from ._values import Scalar

__all__ = ["Categorical", "Fixed", "Float", "Int", "Param", "Scalar", "Space"]
