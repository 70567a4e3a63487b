"""Write a local .env with fresh secrets, once. Never overwrites an existing file."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    target = ROOT / ".env"
    if target.exists():
        return 0
    template = (ROOT / ".env.example").read_text()
    values = {
        "SECRET_KEY": secrets.token_hex(32),
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DEMO_API_SECRET": secrets.token_hex(24),
    }
    lines = []
    for line in template.splitlines():
        name = line.split("=", 1)[0].strip()
        if name in values and "=" in line and not line.lstrip().startswith("#"):
            line = f"{name}={values[name]}"
        lines.append(line)
    target.write_text("\n".join(lines) + "\n")
    target.chmod(0o600)
    print(f"Wrote {target} with fresh SECRET_KEY and ENCRYPTION_KEY (keep it out of git).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
