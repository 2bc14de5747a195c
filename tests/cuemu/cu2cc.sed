# tests/cuemu/cu2cc.sed -- turns the cuda backend's .cu sources into C++ for the emulator
# (tests/cuemu/cuemu.h says why).  One line in, one line out, so line numbers match.
# k<<<cfg>>>() and k<<<cfg>>>(args): a launch (k may be a template-id such as f<1, T>).
s/\([A-Za-z_][A-Za-z_0-9]*\(<[^<>]*>\)\{0,1\}\)<<<\(.*\)>>>()/cuemu_launch("\1", cuemu_cfg(\3), [\&](auto \&...cuemu_a) { \1(cuemu_a...); })/g
s/\([A-Za-z_][A-Za-z_0-9]*\(<[^<>]*>\)\{0,1\}\)<<<\(.*\)>>>(/cuemu_launch("\1", cuemu_cfg(\3), [\&](auto \&...cuemu_a) { \1(cuemu_a...); }, /g
# extern __shared__ T name[];  ->  the launch's dynamic shared memory
s/extern __shared__ \([A-Za-z_][A-Za-z_0-9 ]*[A-Za-z_0-9]\) \([A-Za-z_][A-Za-z_0-9]*\)\[\];/\1 *\2 = (\1 *)cuemu_dyn_shared();/
