"""``symderiv verify NAME CLAIM`` or ``verify --claims FILE.toml``: prove or refute claims.

Exit status: 0 every claim proved; 1 some claim refuted; 3 some claim undecided and none
refuted; 2 bad input (one line on stderr).

A claims file holds ``[[claim]]`` tables, each either ``activation`` + ``derivative``
(``g'(z) = derivative`` with ``a = g(z)``) or ``lhs`` + ``rhs`` (an identity in ``z``, where
the catalogue's activations may be called, e.g. ``sigmoid(z)``, and catalogue parameter names
stand for those parameters); optional ``params = {alpha = 0.2}``. Other keys are ignored.

Time: the whole command has ``--timeout`` seconds (default :data:`DEFAULT_BUDGET`); each claim
gets at most :data:`CLAIM_TIMEOUT` and at most 1.5 times an even split of what is left among
the claims not yet checked, so that a few hard claims cannot starve the rest. A claim whose time runs out is ``undecided`` (so is a claim never reached), and the
command still prints every result: a spent budget is an answer here, not an error.
"""

from __future__ import annotations

from ..errors import ClaimsFileError, SymderivError

#: Bounds on a claims file, checked before the TOML parser sees it (tomllib takes time
#: quadratic in the parts of one dotted key: 60 KB of them were 53 s).
MAX_FILE_BYTES = 1_000_000
MAX_CLAIMS = 500
MAX_LINES = 50_000
MAX_KEY_PARTS = 16  # dots outside strings and numbers on one line, plus one
#: Seconds of work per claim before it is left undecided (unless --timeout leaves more per claim).
CLAIM_TIMEOUT = 30.0
#: Default --timeout of the whole command.
DEFAULT_BUDGET = 120.0

_EXIT = {"proved": 0, "refuted": 1, "undecided": 3}


def register(sub) -> None:
    from ..calculus import CONVENTIONS

    p = sub.add_parser("verify", help="prove or refute g'(z) = CLAIM (or a file of claims)")
    p.add_argument("name", nargs="?", metavar="NAME", help="activation (see 'symderiv list')")
    p.add_argument("claim", nargs="?", metavar="CLAIM",
                   help="an expression in z and/or a = g(z) and the parameters")
    p.add_argument("--claims", metavar="FILE.toml", help="a TOML file of [[claim]] tables")
    p.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="fix a parameter (repeatable); others stay symbolic")
    p.add_argument("--convention", default="torch", metavar="|".join(CONVENTIONS),
                   help="kink profile the claim's values at kinks are compared with (default torch)")
    p.add_argument("--json", action="store_true", help="print a JSON array of results")
    # the command manages its budget itself (undecided, not an error); the CLI keeps a backstop
    p.set_defaults(func=run, budget=DEFAULT_BUDGET, own_budget=True)


def _load_toml(path: str) -> tuple[dict, str]:
    """The parsed file and its text. Only a regular file is read, at most MAX_FILE_BYTES of it
    (a FIFO or ``/dev/zero`` is refused at once), and its shape is bounded before parsing."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    from ..files import read_regular

    raw = read_regular(path, MAX_FILE_BYTES, what="claims file", error=ClaimsFileError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ClaimsFileError(f"claims file {path!r} is not UTF-8 text (line {line})") from None
    _bound_toml(text, path)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ClaimsFileError(f"claims file {path!r} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ClaimsFileError(f"claims file {path!r} is nested too deeply") from None


_TOML_TOKENS = None


def _bound_toml(text: str, path: str) -> None:
    """Refuse a file with more than MAX_LINES lines or a line whose keys have more than
    MAX_KEY_PARTS dotted parts (dots inside strings, comments and numbers do not count)."""
    import re

    global _TOML_TOKENS
    if _TOML_TOKENS is None:
        _TOML_TOKENS = re.compile(
            r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\''
            r"|#[^\n]*|\n|(?<=[0-9])\.(?=[0-9])|\.|[^\"'#\n.]+|[\"']",
            re.S,
        )
    lines = text.count("\n") + 1
    if lines > MAX_LINES:
        raise ClaimsFileError(f"claims file {path!r} has too many lines ({lines}, limit {MAX_LINES})")
    line, dots = 1, 0
    for m in _TOML_TOKENS.finditer(text):
        token = m.group()
        if token == "\n":
            line, dots = line + 1, 0
        elif token == "." and not (m.start() and text[m.start() - 1].isdigit()
                                   and text[m.end():m.end() + 1].isdigit()):
            dots += 1
            if dots >= MAX_KEY_PARTS:
                raise ClaimsFileError(f"claims file {path!r}, line {line}: a dotted key with too many "
                                      f"parts (limit {MAX_KEY_PARTS})")
        elif token[:1] in "\"'":
            line += token.count("\n")  # a multi-line string


def _claim_lines(text: str) -> list[int]:
    """Line numbers of the ``[[claim]]`` headers, in order (for messages)."""
    import re

    return [i for i, line in enumerate(text.splitlines(), 1)
            if re.match(r"\s*\[\[\s*claim\s*\]\]", line)]


def _text(claim: dict, key: str, where: str) -> str:
    value = claim[key]
    if not isinstance(value, str):
        raise ClaimsFileError(f"{where}: {key} must be a string, got {type(value).__name__}")
    return value


def _params(claim: dict, where: str) -> dict:
    raw = claim.get("params", {})
    if not isinstance(raw, dict):
        raise ClaimsFileError(f"{where}: params must be a table like {{alpha = 0.2}}")
    out = {}
    for k, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise ClaimsFileError(f"{where}: params.{k} must be a number")
        out[k] = repr(v) if isinstance(v, float) else v
    return out


def _once_each(activation: str, params: dict, where: str) -> dict:
    """``params`` with no parameter of ``activation`` given twice under a name and an alias
    (``alpha`` and ``negative_slope``): which value would count is nobody's guess."""
    from ..catalogue import get

    try:
        act = get(activation)
    except SymderivError:
        return params  # an unknown activation is reported where the claim is checked
    seen: dict[str, str] = {}
    for key in params:
        try:
            name = act.param(key).name
        except SymderivError:
            continue  # an unknown name is reported, with the valid ones, where it is used
        if name in seen:
            raise SymderivError(f"{where}: parameter {name} given twice (as {seen[name]!r} and {key!r})")
        seen[name] = key
    return params


def claims_from_file(path: str) -> list[dict]:
    """The ``[[claim]]`` tables of a TOML file, checked: each ``{"kind", ...}``."""
    data, text = _load_toml(path)
    lines = _claim_lines(text)
    claims = data.get("claim")
    if claims is None:
        raise ClaimsFileError(f"claims file {path!r} has no [[claim]] tables")
    if not isinstance(claims, list) or not all(isinstance(c, dict) for c in claims):
        raise ClaimsFileError(f"claims file {path!r}: 'claim' must be an array of tables ([[claim]])")
    if len(claims) > MAX_CLAIMS:
        raise ClaimsFileError(f"too many claims ({len(claims)}, limit {MAX_CLAIMS})")
    out = []
    for i, c in enumerate(claims, 1):
        where = f"claim {i}" + (f" (line {lines[i - 1]})" if len(lines) == len(claims) else "")
        if "activation" in c or "derivative" in c:
            if not ("activation" in c and "derivative" in c):
                raise ClaimsFileError(f"{where}: needs both activation and derivative")
            if "lhs" in c or "rhs" in c:
                raise ClaimsFileError(f"{where}: give activation + derivative or lhs + rhs, not both")
            out.append({"kind": "derivative", "activation": _text(c, "activation", where),
                        "derivative": _text(c, "derivative", where),
                        "params": _once_each(_text(c, "activation", where), _params(c, where), where),
                        "where": where})
        elif "lhs" in c and "rhs" in c:
            out.append({"kind": "identity", "lhs": _text(c, "lhs", where),
                        "rhs": _text(c, "rhs", where), "params": _params(c, where), "where": where})
        else:
            raise ClaimsFileError(f"{where}: needs activation + derivative, or lhs + rhs")
    return out


def check(claim: dict, convention: str, where: str = "", budget: float | None = CLAIM_TIMEOUT):
    """The :class:`~symderiv.prove.Verdict` for one checked claim (see :func:`claims_from_file`).

    Within ``budget`` seconds (None: no limit); when it runs out the verdict is ``undecided``.
    """
    from ..budget import time_limit
    from ..claims import verify_claim, verify_identity
    from ..errors import BudgetExceeded
    from ..prove import Verdict

    symbolic = None if budget is None else 0.8 * budget  # leave time for the numeric search
    try:
        with time_limit(budget):
            if claim["kind"] == "derivative":
                return verify_claim(claim["activation"], claim["derivative"], claim["params"],
                                    convention, timeout=symbolic)
            return verify_identity(claim["lhs"], claim["rhs"], claim["params"], timeout=symbolic)
    except BudgetExceeded:
        return Verdict("undecided", f"time budget ({budget:.3g} s) ran out before a verdict "
                                    "(raise it with --timeout SECONDS)")
    except SymderivError as exc:
        if where:
            raise type(exc)(f"{where}: {exc}") from None
        raise


def _line(claim: dict, verdict) -> str:
    if claim["kind"] == "derivative":
        text = f"{claim['activation']}'(z) = {claim['derivative']}"
    else:
        text = f"{claim['lhs']} = {claim['rhs']}"
    if claim["params"]:
        text += "  [" + ", ".join(f"{k}={v}" for k, v in claim["params"].items()) + "]"
    out = [f"{verdict.status:9s} {text}", f"          {verdict.method}"]
    if verdict.counterexample:
        out.append("          counterexample: " + ", ".join(f"{k} = {v}" for k, v in verdict.counterexample.items()))
    if verdict.assumptions:
        out.append("          assuming " + ", ".join(verdict.assumptions))
    if verdict.kink_note:
        out.append(f"          kink: {verdict.kink_note}")
    return "\n".join(out)


def run(args) -> int:
    from ..calculus import CONVENTIONS
    from ..cli import print_json
    from ..errors import UnknownConvention

    if args.convention not in CONVENTIONS:
        raise UnknownConvention(
            f"unknown convention {args.convention!r} (choose from {', '.join(CONVENTIONS)})")
    if args.claims is not None:
        if args.name is not None or args.claim is not None or args.param:
            raise SymderivError("give either NAME CLAIM [--param K=V] or --claims FILE.toml, not both")
        claims = claims_from_file(args.claims)
    else:
        if args.name is None or args.claim is None:
            raise SymderivError("give NAME CLAIM (e.g. verify sigmoid 'a*(1 - a)') or --claims FILE.toml")
        params = {}
        for item in args.param:
            key, sep, value = item.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise SymderivError(f"--param expects K=V, got {item!r}")
            key = key.strip()
            if key in params:
                raise SymderivError(f"--param {key} given twice")
            params[key] = value.strip()
        claims = [{"kind": "derivative", "activation": args.name, "derivative": args.claim,
                   "params": _once_each(args.name, params, "--param")}]
    import time

    from ..progress import progress
    from ..prove import Verdict

    results = []
    deadline = time.monotonic() + args.timeout
    with progress(claims, "verify", unit="claim") as bar:
        for i, claim in enumerate(bar):
            left = deadline - time.monotonic()
            share = min(CLAIM_TIMEOUT, 1.5 * left / (len(claims) - i))
            if left < 0.05:
                verdict = Verdict("undecided", f"not attempted: the time budget ({args.timeout:g} s) "
                                               "was spent on earlier claims")
            else:
                verdict = check(claim, args.convention, claim.get("where", ""), min(share, left))
            results.append((claim, verdict))
            if not args.json:  # each verdict as soon as it is known
                bar.print(_line(claim, verdict))
    if args.json:
        rows = []
        for claim, verdict in results:
            row = {k: v for k, v in claim.items() if k not in ("kind", "where")}
            row["params"] = {k: str(v) for k, v in claim["params"].items()}
            row["convention"] = args.convention
            row.update(verdict.as_json())
            rows.append(row)
        print_json(rows)
    statuses = {v.status for _, v in results}
    if "refuted" in statuses:
        return 1
    if "undecided" in statuses:
        return 3
    return 0
