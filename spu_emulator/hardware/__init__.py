"""Hardware: the matrix-to-SPU compiler, component banks and quantization.

The ``program:`` netlist section of a compiled design is defined in
:mod:`spu_emulator.hardware.design`; the netlist loader finds it by itself (nothing
needs importing first).
"""

from .bank import Bank, quantize, stratified_roundings
from .compiler import CompileOptions, compile_matrix, plan_program
from .design import Design, ProgramMap, Variable, load_design, loads_design

__all__ = [
    "Bank", "CompileOptions", "Design", "ProgramMap", "Variable", "compile_matrix",
    "load_design", "loads_design", "plan_program", "quantize", "stratified_roundings",
]
