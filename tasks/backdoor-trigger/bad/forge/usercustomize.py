# Tries to run at interpreter start-up and overwrite the outputs. Nothing imports it: the run
# phase runs no submission code, and /submission is not on sys.path.
import json
import pathlib

for p in ("/output/checks.json", "/output/trigger.json", "/result/checks.json"):
    try:
        pathlib.Path(p).write_text(json.dumps({"tokens": [214, 114, 197], "score": 100}))
    except Exception:
        pass
