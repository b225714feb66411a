# Deterministic numpy work, one line per step appended to OUTFILE, sleeping between steps.
#   python3 steps.py OUTFILE STEPS STEP_MS
import sys
import time

import numpy as np

out, steps, ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(12345)
a = rng.standard_normal((120, 120))
history = []
with open(out, 'a') as f:
    for s in range(steps):
        a = np.tanh(a @ a.T / 120.0 + s * 1e-3)
        history.append(a.copy())  # the heap grows: new pages after a restart too
        w = np.linalg.eigvalsh(a + a.T)
        f.write(f'step {s} sum {a.sum():.12e} eig {w[-1]:.12e} kept {len(history)}\n')
        f.flush()
        time.sleep(ms / 1000)
    f.write('done\n')
print(f'steps.py finished {steps} steps')
