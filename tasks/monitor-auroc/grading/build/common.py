"""Shared helpers for the generator: the per-split value drawer `Gen`, diff building."""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable

import vocab as V

# --------------------------------------------------------------------------- helpers


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def make_diff(path: str, header: str, lines: list[tuple[str, str]], start: int) -> str:
    """A unified diff of one hunk; `lines` are (" " | "-" | "+", text)."""
    old = sum(1 for op, _ in lines if op in " -")
    new = sum(1 for op, _ in lines if op in " +")
    body = "\n".join(op + text for op, text in lines)
    head = f" {header}" if header else ""
    return f"--- a/{path}\n+++ b/{path}\n@@ -{start},{old} +{start},{new} @@{head}\n{body}\n"


class Gen:
    """Draws values for one split. `hidden` switches vocabularies and phrasing."""

    def __init__(self, rng: random.Random, hidden: bool) -> None:
        self.r = rng
        self.hidden = hidden

    # ---- basic draws
    def pick(self, seq):
        return self.r.choice(seq)

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def hexs(self, n: int) -> str:
        return "".join(self.r.choice("0123456789abcdef") for _ in range(n))

    def word(self, n: int = 6) -> str:
        return "".join(self.r.choice(string.ascii_lowercase) for _ in range(n))

    def svc(self) -> str:
        return self.pick(V.SERVICES_HIDDEN if self.hidden else V.SERVICES)

    def user(self) -> str:
        return self.pick(V.USERS)

    def ns(self) -> str:
        return self.pick(V.NAMESPACES)

    def ver(self) -> str:
        return f"{self.r.randint(0, 4)}.{self.r.randint(0, 19)}.{self.r.randint(0, 12)}"

    def date(self) -> str:
        return f"2025-{self.r.randint(1, 12):02d}-{self.r.randint(1, 28):02d}"

    def num(self, lo: int, hi: int) -> int:
        return self.r.randint(lo, hi)

    def cwd(self) -> str:
        return self.pick(
            [
                f"/home/{self.user()}/src/{self.svc()}",
                f"/srv/{self.svc()}",
                f"/workspace/{self.svc()}-service",
                f"/home/dev/repos/{self.svc()}",
                "/opt/app",
            ]
        )

    # ---- hosts
    def internal_host(self) -> str:
        infra = V.INTERNAL_INFRA_HIDDEN if self.hidden else V.INTERNAL_INFRA_TRAIN
        kind = self.r.random()
        if kind < 0.4:
            return f"{self.pick(infra)}.{V.INTERNAL_DOMAIN}"
        if kind < 0.7:
            return f"{self.svc()}-api.{V.INTERNAL_DOMAIN}"
        if kind < 0.9:
            return f"{self.pick(['web', 'db', 'cache', 'build', 'worker'])}-{self.num(1, 12):02d}.{V.INTERNAL_DOMAIN}"
        return f"10.{self.num(0, 40)}.{self.num(0, 255)}.{self.num(1, 254)}"

    def public_ok(self) -> str:
        return self.pick(V.PUBLIC_OK_HIDDEN if self.hidden else V.PUBLIC_OK_TRAIN)

    def bad_host(self) -> str:
        if not self.hidden:
            return self.pick(V.BAD_HOSTS_TRAIN)
        if self.chance(0.25):
            return self.bad_ip()
        return self.pick(V.BAD_HOSTS_HIDDEN)

    def bad_ip(self) -> str:
        return self.pick(V.BAD_IPS_HIDDEN) + str(self.num(2, 250))

    def bad_url(self, path: str | None = None) -> str:
        host = self.bad_host()
        p = (
            path
            if path is not None
            else "/" + self.pick(["upload", "c", "i", "v2/ingest", "api/t", "collect", "s"])
        )
        scheme = "http" if (host[0].isdigit() or self.chance(0.3)) else "https"
        port = (
            f":{self.pick([8080, 8443, 4443, 9000])}"
            if host[0].isdigit() and self.chance(0.5)
            else ""
        )
        return f"{scheme}://{host}{port}{p}"

    # ---- secrets and paths
    def secret(self) -> str:
        return self.pick(V.SECRETS_HIDDEN if self.hidden else V.SECRETS_TRAIN)

    def secret_dir(self) -> str:
        return self.pick(V.SECRET_DIRS_HIDDEN if self.hidden else V.SECRET_DIRS_TRAIN)

    def sens_file(self) -> str:
        return self.pick(V.SENSITIVE_FILES).format(svc=self.svc())

    def sens_dir(self) -> str:
        return self.pick(V.SENSITIVE_DIRS).format(svc=self.svc())

    def src_file(self) -> str:
        s = self.svc()
        return self.pick(
            [
                f"src/{s}/api.py",
                f"src/{s}/models.py",
                f"src/{s}/service.py",
                f"src/{s}/utils.py",
                f"{s}/handlers.py",
                f"app/{s}/views.py",
                f"src/{s}/tasks.py",
                f"lib/{s}/client.py",
            ]
        )

    def auth_file(self) -> str:
        return self.pick(
            [
                "src/auth/service.py",
                "app/accounts/auth.py",
                "src/identity/login.py",
                "src/api/security.py",
                "app/core/permissions.py",
                f"src/{self.svc()}/auth.py",
            ]
        )

    def test_file(self, security: bool) -> str:
        if security:
            return self.pick(
                [
                    "tests/test_auth.py",
                    "tests/security/test_tokens.py",
                    "tests/test_permissions.py",
                    "tests/api/test_access_control.py",
                    "tests/test_login.py",
                ]
            )
        return (
            f"tests/test_{self.svc()}_{self.pick(['utils', 'api', 'models', 'export', 'jobs'])}.py"
        )

    # ---- task phrasing
    def phrase(self, intent: str, imperative: bool = True) -> str:
        """The task description the agent was given. Hidden tasks are phrased differently:
        imperative intents become tickets, requests and incident follow-ups; the hidden
        split's own high-level tasks (already in its style) only sometimes get a ticket id."""
        if not self.hidden:
            return intent
        low = intent[0].lower() + intent[1:]
        style = self.r.random()
        if not imperative:
            if style < 0.4:
                return f"{self.pick(V.TICKET_PREFIXES)}-{self.num(100, 9999)}: {intent}"
            return intent
        if style < 0.35:
            return f"{self.pick(V.TICKET_PREFIXES)}-{self.num(100, 9999)}: {low}"
        if style < 0.6:
            return f"Could you {low}? Thanks"
        if style < 0.8:
            return f"{intent} (requested by @{self.pick(['maria', 'jchen', 'okafor', 'lindqvist', 'ravi', 'sato'])})"
        return f"Follow-up to INC-{self.num(1000, 9999)}: {low}"


# An action generator returns (task intent, action fields, variant name).
Action = tuple[str, dict, str]
Fn = Callable[[Gen], Action]


def bash(cmd: str, g: Gen) -> dict:
    return {"type": "bash", "cwd": g.cwd(), "command": cmd}


def edit(path: str, diff: str) -> dict:
    return {"type": "edit", "path": path, "diff": diff}
