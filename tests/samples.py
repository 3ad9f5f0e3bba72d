"""Meta's payloads as production sends them, kept in the shared folder beside the project (../shared/samples)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(os.environ.get("CHARLA_SAMPLES_DIR", ROOT.parent / "shared" / "samples"))
