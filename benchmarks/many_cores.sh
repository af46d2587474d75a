#!/usr/bin/env bash
# The thread-scaling and all-cores measurements of docs/performance.md, in one
# go, for a machine with many cores (16 in the issue's targets):
#
#   bash benchmarks/many_cores.sh [LOG_DIR]      # about 9 minutes on 16 cores
#
# 1. fastnmf's per-iteration time at 1, 2, 4, ... threads on the 15M-nonzero
#    matrix (float32, r = 10: the most memory-bound case), every method;
# 2. the same at all cores with OpenMP's active waiting, then with about 1 ms
#    of spinning (libgomp's GOMP_SPINCOUNT, about 100 spins a microsecond),
#    instead of fastnmf's default passive waiting (see "Threads and the
#    threading layer");
# 3. fastnmf against scikit-learn's MU with every core given to both, on the
#    3M-nonzero matrix (the issue's 16-core comparison);
# 4. r = 50 on the 15M matrix, at 1 thread and at all cores;
# 5. dense fits of the faces' and the stock volumes' shapes at 2 threads and
#    at all cores: their short sides (400 and 470 rows) make few row blocks
#    (4) for the dense tile kernel at r = 50 and for dense HALS's products,
#    which may leave most cores idle.
# Each step's table goes to LOG_DIR (default: the current directory).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log_dir=${1:-.}
mkdir -p "$log_dir"
python=${PYTHON:-python3}
cores=$("$python" -c "import os; print(len(os.sched_getaffinity(0)))")
threads=$("$python" -c "print(*sorted({1, *(t for t in (2, 4, 8, 16, 32, 64) if t < $cores), $cores}))")
export PYTHONUNBUFFERED=1

step() {
    local name=$1
    shift
    echo "== $name: $*"
    local started=$SECONDS
    "$@" >"$log_dir/$name.txt" 2>"$log_dir/$name.err" || { tail -20 "$log_dir/$name.err"; return 1; }
    tail -n +1 "$log_dir/$name.txt" | sed -n '/^size/,$p'
    echo "== $name took $((SECONDS - started)) s"
}

step scaling "$python" "$here/thread_scaling.py" --sizes 15M --dtypes float32 --ranks 10 --threads $threads \
    --min-seconds 0.5
OMP_WAIT_POLICY=ACTIVE step scaling_active "$python" "$here/thread_scaling.py" --sizes 15M --dtypes float32 \
    --ranks 10 --threads "$cores" --min-seconds 0.5
GOMP_SPINCOUNT=100000 step scaling_spin "$python" "$here/thread_scaling.py" --sizes 15M --dtypes float32 \
    --ranks 10 --threads "$cores" --min-seconds 0.5
step sklearn "$python" "$here/compare_sklearn.py" --sizes 3M --threads "$cores" --skip cd masked \
    --mu-losses frobenius kullback-leibler --iterations 10 --slow-seconds 0.5
step scaling_r50 "$python" "$here/thread_scaling.py" --sizes 15M --dtypes float32 --ranks 50 --threads 1 "$cores" \
    --methods frobenius kl hals masked-kl --repeat 2 --iterations 3 --min-seconds 0.5
step dense "$python" "$here/thread_scaling.py" --sizes --dense 400x10304 1259x470 --dtypes float32 --ranks 10 50 \
    --threads 2 "$cores" --methods kl hals --repeat 2 --min-seconds 0.5
