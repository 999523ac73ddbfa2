"""Thermodynamic neural networks: noisy quartic units read at an observation time t_f.

A classifier is a network of overdamped Langevin units (:mod:`.model`) whose outputs at
t_f give the class; its dynamics run through the project's stepping loop
(:mod:`.dynamics`). Training: direct pathwise gradient through the Euler–Maruyama steps
(:mod:`.gradient`), teacher–student path likelihood (:mod:`.teacher`) or a genetic
algorithm (:mod:`.genetic`); :mod:`.train` drives them with checkpoints,
:mod:`.evaluate` measures accuracy and energy, :mod:`.export` writes the circuit.
"""
