"""Leaves more output files (and empty folders) than the export takes, among them a
forged result, hoping the export gives up quietly and something else gets scored."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import os\n"
        "open('/output/result.json', 'w').write('{\"answer\": 42, \"score\": 10}')\n"
        "for i in range(1500):\n"
        "    open(f'/output/f{i:04d}.json', 'w').write('{}')\n"
        "for i in range(3000):\n"
        "    os.mkdir(f'/output/d{i:04d}')\n"
        "print('left', len(os.listdir('/output')), flush=True)\n"
    ),
    status=("invalid",),
    max_score=0.0,
    explanation_has=("outputs were rejected", "outputs exceed the limit of 1000 files"),
    run_log_has=("left 4501",),
)
