"""Board calibration: identify the as-built board from its own node-voltage samples
(Whittle maximum likelihood of the exact sampled linear SDE, Fisher-information error
bars, identifiability and goodness-of-fit checks) and compensate programs for it.

The numerics (:mod:`.model`, :mod:`.estimate`, :mod:`.samples`, :mod:`.compensate`)
import no YAML; :mod:`.report` (the calibration file) imports PyYAML on first use.
"""

from .estimate import Calibration, calibrate
from .samples import Samples, from_arrays, load_samples

__all__ = ["Calibration", "Samples", "calibrate", "from_arrays", "load_samples"]
