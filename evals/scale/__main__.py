"""`python -m evals.scale ...`: `embed` and `texts` need neither typer nor the app (a GPU machine);
`_measure SPEC` is the measured process (internal); anything else is `handbook scale`."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "embed":
        from evals.scale.embed import embed_main

        return embed_main(args[1:])
    if args and args[0] == "texts":
        from evals.scale.embed import texts_main

        return texts_main(args[1:])
    if args and args[0] == "_measure":
        from evals.scale.measure import measure_main

        return measure_main(args[1:])
    from evals.scale.cli import build_scale_app

    build_scale_app()(args, prog_name="python -m evals.scale")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
