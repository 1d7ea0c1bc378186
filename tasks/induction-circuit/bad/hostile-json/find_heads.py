# Hostile return values: NaN, infinities, huge integers, deep nesting, odd objects.
import math


class Weird:
    def __float__(self):
        raise RuntimeError("no float for you")


def find_heads(model):
    deep = []
    cur = deep
    for _ in range(5000):
        nxt = []
        cur.append(nxt)
        cur = nxt
    effects = {f"{layer}.{h}": {"loss_increase": math.nan, "accuracy_drop": math.inf}
               for layer in range(2) for h in range(4)}
    effects["0.1"] = {"loss_increase": 10**400, "accuracy_drop": Weird()}
    return {"previous_token_heads": deep, "induction_heads": ["1.9", None, 3.5],
            "effects": effects, 7: Weird()}
