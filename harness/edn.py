"""EDN in and out: a fast reader for Jepsen histories and results, and the writers for run files.

``edn_format`` is correct but slow (about 33 s for a 3.9 MB history), so :func:`loads` is a regex
tokenizer plus a stack builder. It yields what ``edn_format.loads`` yields once both are put
through :func:`normalize` (vectors and lists -> ``list``, maps -> ``dict``): keywords as
:class:`edn_format.Keyword`, symbols as :class:`edn_format.Symbol`, sets as ``frozenset``, ``N``
integers as ``int``, ``M`` decimals as :class:`decimal.Decimal`, ratios as
:class:`fractions.Fraction`, characters as :class:`edn_format.Char`. A tagged literal is passed to a
handler from ``tags``; the records Jepsen and Knossos print into results.edn (``#jepsen.history.Op``,
``#knossos.model.CASRegister``, ...) read as their maps.

Files: :func:`read_history` and :func:`read_results` read ``history.edn`` or, when only that exists,
its xz-compressed ``history.edn.xz`` (the corpus in tests/data/maelstrom-runs is stored so); see
:func:`stored`.

Writing: history.edn lines use our own printer (Clojure's ``pr`` layout, key order
``:index :time :type :process :f :value``, extras, ``:error``); results.edn is emitted with
``edn_format`` for every atom, laid out like Clojure's pretty printer.
"""

from __future__ import annotations

import decimal
import fractions
import json
import lzma
import math
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import edn_format
from edn_format import Char, Keyword, Symbol
from edn_format.exceptions import EDNDecodeError
from edn_format.immutable_list import ImmutableList

from harness.history import UNKNOWN, Op

__all__ = [
    "EDNDecodeError",
    "StrKeys",
    "history_txt_line",
    "loads",
    "loads_all",
    "normalize",
    "op_edn_line",
    "op_to_map",
    "pr",
    "read_history",
    "read_results",
    "read_text",
    "results_to_edn",
    "results_to_json",
    "stored",
    "write_history",
]


class StrKeys(dict):
    """A result map whose ``str`` keys stay strings in results.edn (e.g. kafka's per-key maps)."""


# --------------------------------------------------------------------------------------------
# Reader

# One token per match, leading whitespace and commas skipped; the parser dispatches on the first
# character. The last alternative catches what no valid token starts with, so malformed input
# raises instead of being skipped silently.
_TOKEN_RE = re.compile(
    r"""[\s,]*(
        "[^"\\]*(?:\\.[^"\\]*)*"                             # string
      | \#\{ | \#_ | \#\#?[^\s,\[\]{}()"\\;]*                # set opener, discard, ##Inf, #tag
      | [\[\]{}()]                                          # brackets
      | \\(?:u[0-9A-Fa-f]{4}|newline|return|space|tab|[^\s,])  # character
      | ;[^\n]*                                             # comment
      | [^\s,\[\]{}()"\\;\#][^\s,\[\]{}()"\\;]*              # atom: keyword, number, symbol
      | \S                                                  # anything else: an error
    )""",
    re.VERBOSE | re.DOTALL,
)

# Same escape set as edn_format (it decodes with Python's unicode-escape rules).
_ESCAPE_RE = re.compile(r"""\\U........|\\u....|\\x..|\\[0-7]{1,3}|\\N\{[^}]+\}|\\[\\'"abfnrtv]""")
_INT_RE = re.compile(r"[+-]?(?:0|[1-9]\d*)N?")
_HEX_RE = re.compile(r"[+-]?0x[0-9A-Fa-f]+")
_FLOAT_RE = re.compile(r"[+-]?\d+(?:(?:\.\d+(?:[eE][+-]?\d+)?|[eE][+-]?\d+)M?|M)")
_RATIO_RE = re.compile(r"-?\d+/\d+")
_CHAR_NAMES = {"newline": "\n", "return": "\r", "space": " ", "tab": "\t"}
_SYMBOLIC = {"##Inf": math.inf, "##-Inf": -math.inf, "##NaN": math.nan}

TagHandler = Callable[[Any], Any]
#: Tags that appear in Jepsen output: records (an op; Knossos's model and its failure in lin-kv
#: results) read as their maps.
DEFAULT_TAGS: dict[str, TagHandler] = {
    name: lambda m: m
    for name in ("jepsen.history.Op", "knossos.model.CASRegister", "knossos.model.Inconsistent")
}

_KEYWORDS: dict[str, Keyword] = {}


def _keyword(token: str) -> Keyword:
    k = _KEYWORDS.get(token)
    if k is None:
        k = _KEYWORDS[token] = Keyword(token[1:])
    return k


def _decode_string(body: str) -> str:
    if "\\" not in body:
        return body
    return _ESCAPE_RE.sub(
        lambda m: m.group(0).encode("latin-1", "backslashreplace").decode("unicode-escape"), body
    )


def _atom(token: str) -> Any:
    """A number, ``nil``/``true``/``false`` or a symbol."""
    c = token[0]
    if c.isdigit() or (c in "+-" and len(token) > 1 and token[1].isdigit()):
        if _INT_RE.fullmatch(token):
            return int(token.rstrip("N"))
        if _FLOAT_RE.fullmatch(token):
            if token.endswith("M"):
                return decimal.Decimal(token[:-1])
            return float(token)
        if _RATIO_RE.fullmatch(token):
            n, d = token.split("/", 1)
            return fractions.Fraction(int(n), int(d))
        if _HEX_RE.fullmatch(token):
            return int(token, 16)
        raise EDNDecodeError(f"invalid number {token!r}")
    if token == "nil":
        return None
    if token == "true":
        return True
    if token == "false":
        return False
    return Symbol(token)


class _Pairs(list):
    """A top-level map's flattened entries, when the caller asked not to build the dict."""


def _hashable(v: Any) -> Any:
    """A map key or set element: vectors and lists as tuples (edn_format uses ImmutableList)."""
    return tuple(_hashable(x) for x in v) if isinstance(v, list) else v


_MISS = object()
_CLOSER = {"[": "]", "(": ")", "{": "}", "#{": "}"}


def _parse(text: str, tags: dict[str, TagHandler] | None, top_map_pairs: bool = False) -> list[Any]:
    """Every top-level form of ``text``, in order."""
    handlers = DEFAULT_TAGS if tags is None else {**DEFAULT_TAGS, **tags}
    top: list[Any] = []
    cur = top
    stack: list[tuple[list[Any], str]] = []  # (enclosing container, opener of the current one)
    opener = ""
    # Prefixes waiting for the next complete form of a container: (container, "tag"|"discard", tag).
    pending: list[tuple[list[Any], str, str | None]] = []
    # Atoms repeat a lot (keywords, small ints): parse each distinct token once.
    atoms: dict[str, Any] = {"nil": None, "true": True, "false": False}
    atoms_get = atoms.get

    def emit(value: Any) -> None:
        # Apply the tags/discards waiting for this container's next form (innermost first).
        while pending and pending[-1][0] is cur:
            _, kind, name = pending.pop()
            if kind == "discard":
                return
            handler = handlers.get(name or "")
            if handler is None:
                raise EDNDecodeError(f"Don't know how to handle tag {name}")
            value = handler(value)
        cur.append(value)

    for tok in _TOKEN_RE.findall(text):
        value = atoms_get(tok, _MISS)
        if value is _MISS:
            c = tok[0]
            if c in "[({":
                stack.append((cur, opener))
                cur, opener = [], c
                continue
            if c in ")]}":
                if not stack or _CLOSER[opener] != c:
                    raise EDNDecodeError(f"unexpected {c!r}")
                items = cur
                closed = opener
                cur, opener = stack.pop()
                if pending and any(p[0] is items for p in pending):
                    raise EDNDecodeError("tag or discard without a form")
                if closed == "{":
                    if len(items) % 2:
                        raise EDNDecodeError("map literal with an odd number of forms")
                    if top_map_pairs and not stack:
                        value = _Pairs(items)
                    else:
                        it = iter(items)
                        try:
                            value = dict(zip(it, it, strict=True))
                        except TypeError:  # a vector or list key: keep it hashable as a tuple
                            it = iter(items)
                            value = {_hashable(k): v for k, v in zip(it, it, strict=True)}
                elif closed == "#{":
                    try:
                        value = frozenset(items)
                    except TypeError:
                        value = frozenset(_hashable(v) for v in items)
                else:
                    value = items  # vector or list: both become list
            elif c == '"':
                if len(tok) < 2 or tok[-1] != '"':
                    raise EDNDecodeError("unterminated string")
                value = _decode_string(tok[1:-1])
            elif c == ":":
                value = atoms[tok] = _keyword(tok)
            elif c == "#":
                if tok == "#{":
                    stack.append((cur, opener))
                    cur, opener = [], "#{"
                    continue
                if tok == "#_":
                    pending.append((cur, "discard", None))
                    continue
                if tok.startswith("##"):
                    if tok not in _SYMBOLIC:
                        raise EDNDecodeError(f"unknown symbolic value {tok}")
                    value = _SYMBOLIC[tok]
                elif len(tok) > 1 and tok[1].isalpha():
                    pending.append((cur, "tag", tok[1:]))
                    continue
                else:
                    raise EDNDecodeError(f"unsupported dispatch {tok!r}")
            elif c == "\\":
                name = tok[1:]
                if len(name) == 1:
                    value = Char(name)
                elif name in _CHAR_NAMES:
                    value = Char(_CHAR_NAMES[name])
                elif name.startswith("u") and len(name) == 5:
                    value = Char(chr(int(name[1:], 16)))
                else:
                    raise EDNDecodeError(f"invalid character {tok!r}")
            elif c == ";":
                continue
            else:
                value = atoms[tok] = _atom(tok)
        if pending:
            emit(value)
        else:
            cur.append(value)
    if stack:
        raise EDNDecodeError("unexpected end of input: unclosed collection")
    if pending:
        raise EDNDecodeError("unexpected end of input: tag or discard without a form")
    return top


def loads(text: str, tags: dict[str, TagHandler] | None = None) -> Any:
    """The first EDN form in ``text`` (``None`` if there is none), like ``edn_format.loads``."""
    forms = _parse(text, tags)
    return forms[0] if forms else None


def loads_all(text: str, tags: dict[str, TagHandler] | None = None) -> list[Any]:
    """Every top-level EDN form in ``text``."""
    return _parse(text, tags)


def normalize(value: Any) -> Any:
    """Plain containers: vectors, lists and tuples -> list, maps -> dict (recursively); map keys
    and set elements that are sequences -> tuple."""
    if isinstance(value, (list, tuple, ImmutableList)):
        return [normalize(v) for v in value]
    if isinstance(value, Mapping):
        return {_hashable(normalize(k)): normalize(v) for k, v in value.items()}
    if isinstance(value, frozenset):
        return frozenset(_hashable(normalize(v)) for v in value)
    return value


# --------------------------------------------------------------------------------------------
# Histories

_OP_FIELDS = frozenset(("index", "time", "type", "process", "f", "value", "error"))


def _name(v: Any) -> Any:
    return v.name if isinstance(v, Keyword) else v


def _op_from_pairs(items: list[Any]) -> Op:
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    it = iter(items)
    for k, v in zip(it, it, strict=True):
        key = k.name if isinstance(k, Keyword) else str(k)
        if key in _OP_FIELDS:
            fields[key] = v
        else:
            extra[key] = v
    if "type" not in fields or "process" not in fields:
        raise EDNDecodeError(f"history entry without :type or :process: {fields}")
    return Op(
        type=_name(fields["type"]),
        f=_name(fields.get("f")),
        process=_name(fields["process"]),
        value=fields.get("value"),
        time=fields.get("time", 0),
        index=fields.get("index", -1),
        error=fields.get("error"),
        extra=extra,
    )


#: suffix of a compressed file that stands in for the plain one (``history.edn.xz``)
COMPRESSED_SUFFIX = ".xz"


def stored(path: str | Path) -> Path | None:
    """The file that holds ``path``'s text: ``path`` itself, else ``path.xz``; ``None`` if neither is a file."""
    path = Path(path)
    if path.is_file():
        return path
    compressed = path.with_name(path.name + COMPRESSED_SUFFIX)
    return compressed if compressed.is_file() else None


def read_text(path: str | Path) -> str:
    """The UTF-8 text of ``path``, decompressed from ``path.xz`` when only that exists."""
    found = stored(path)
    if found is None:
        raise FileNotFoundError(f"{path} (nor {Path(path).name}{COMPRESSED_SUFFIX}) not found")
    data = found.read_bytes()
    if found.name.endswith(COMPRESSED_SUFFIX):
        data = lzma.decompress(data)
    return data.decode("utf-8")


def read_history(path: str | Path) -> list[Op]:
    """Read a Jepsen ``history.edn`` (one op map per line), or its ``history.edn.xz``."""
    forms = _parse(read_text(path), None, top_map_pairs=True)
    ops = []
    for form in forms:
        if not isinstance(form, _Pairs):
            raise EDNDecodeError(f"history entry is not a map: {form!r}")
        ops.append(_op_from_pairs(form))
    return ops


_READABLE_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\b": "\\b",
    "\f": "\\f",
}
_ESCAPE_CHARS_RE = re.compile(r'["\\\n\t\r\b\f]')


def _pr_str(s: str) -> str:
    if _ESCAPE_CHARS_RE.search(s) is None:  # nearly every string: no substitution to set up
        return '"' + s + '"'
    return '"' + _ESCAPE_CHARS_RE.sub(lambda m: _READABLE_ESCAPES[m.group(0)], s) + '"'


def pr(value: Any, readably: bool = True) -> str:
    """``value`` as Clojure's ``pr-str`` (``readably=False``: ``print-str``) writes it.

    A ``str`` dict key stays a string; a tuple prints as a list ``(...)``; an :class:`Op` as its map.
    """
    # The exact types a history is made of first, by identity (one test each instead of a chain of
    # isinstance calls): this writes every op of history.edn, history.txt, jepsen.log and the
    # timeline. The result is _pr_general's for the same value.
    t = type(value)
    if t is str:
        return _pr_str(value) if readably else value
    if t is int:
        return str(value)
    if t is dict:
        return "{" + ", ".join([f"{pr(k, readably)} {pr(v, readably)}" for k, v in value.items()]) + "}"
    if t is Keyword:
        return ":" + value.name  # Keyword.__str__, without its str.format
    if t is list:
        return "[" + " ".join([pr(v, readably) for v in value]) + "]"
    return _pr_general(value, readably)


def _pr_general(value: Any, readably: bool) -> str:
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _pr_str(value) if readably else value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "##NaN"
        if math.isinf(value):
            return "##Inf" if value > 0 else "##-Inf"
        return repr(value)
    if isinstance(value, (Keyword, Symbol)):
        return str(value)
    if isinstance(value, list):
        return "[" + " ".join(pr(v, readably) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + " ".join(pr(v, readably) for v in value) + ")"
    if isinstance(value, Op):
        return pr(op_to_map(value), readably)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{pr(k, readably)} {pr(v, readably)}" for k, v in value.items()) + "}"
    if isinstance(value, (set, frozenset)):
        return "#{" + " ".join(pr(v, readably) for v in value) + "}"
    return edn_format.dumps(value)


def op_to_map(op: Op) -> dict[Keyword, Any]:
    """An op as Jepsen's op map: ``:index :time :type :process :f :value``, extras, ``:error``."""
    m: dict[Keyword, Any] = {
        _keyword(":index"): op.index,
        _keyword(":time"): op.time,
        _keyword(":type"): _keyword(":" + op.type),
        _keyword(":process"): op.process if isinstance(op.process, int) else _keyword(":" + op.process),
        _keyword(":f"): _keyword(":" + op.f) if isinstance(op.f, str) else op.f,
        _keyword(":value"): op.value,
    }
    for k, v in op.extra.items():
        m[_keyword(":" + k)] = v
    if op.error is not None:
        m[_keyword(":error")] = op.error
    return m


def history_txt_line(op: Op) -> str:
    """One op as history.txt and Jepsen's op log print it: process, type, f, value[, error]."""
    return _history_txt_line(op)


def _history_txt_line(op: Op) -> str:
    process = str(op.process) if isinstance(op.process, int) else ":" + op.process
    f = ":" + op.f if isinstance(op.f, str) else pr(op.f)
    line = f"{process}\t:{op.type}\t{f}\t{pr(op.value)}"
    if op.error is not None:
        line += "\t" + pr(op.error, readably=False)
    return line


#: op_to_map's own keys: an extra under one of these names replaces that entry in place
_OP_KEYS = frozenset(("index", "time", "type", "process", "f", "value", "error"))


def op_edn_line(op: Op) -> str:
    """``pr(op_to_map(op))`` (one line of history.edn), without building the map of keywords."""
    extra = op.extra
    if extra and not _OP_KEYS.isdisjoint(extra):
        return pr(op_to_map(op))
    process = op.process
    f = op.f
    parts = [
        f"{{:index {pr(op.index)}, :time {pr(op.time)}, :type :{op.type}, :process ",
        pr(process) if isinstance(process, int) else ":" + process,
        ", :f ",
        ":" + f if isinstance(f, str) else pr(f),
        ", :value ",
        pr(op.value),
    ]
    for k, v in extra.items():
        parts += [", :", k, " ", pr(v)]
    if op.error is not None:
        parts += [", :error ", pr(op.error)]
    parts.append("}")
    return "".join(parts)


def write_history(ops: Iterable[Op], run_dir: str | Path, txt_lines: list[str] | None = None) -> list[str]:
    """Write ``history.edn`` (one op map per line) and ``history.txt`` into ``run_dir``; return
    the history.edn lines (without newlines; the timeline shows them too).

    ``txt_lines``: the ops' history.txt lines when the caller already made them (the interpreter
    logs each op as it records it), one per op, so they are not formatted a second time.
    """
    run_dir = Path(run_dir)
    ops = list(ops)
    edn_lines = [op_edn_line(op) for op in ops]
    with open(run_dir / "history.edn", "w", encoding="utf-8") as f:
        f.writelines([line + "\n" for line in edn_lines])
    if txt_lines is None or len(txt_lines) != len(ops):
        txt_lines = [_history_txt_line(op) for op in ops]
    with open(run_dir / "history.txt", "w", encoding="utf-8") as f:
        f.writelines([line + "\n" for line in txt_lines])
    return edn_lines


# --------------------------------------------------------------------------------------------
# Results

_VALID = "valid?"
_UNKNOWN_KW = Keyword("unknown")


def _to_edn_tree(value: Any, in_valid: bool = False) -> Any:
    """Results as EDN data: str keys -> keywords (not in StrKeys), UNKNOWN valid? -> :unknown."""
    if in_valid and value == UNKNOWN:
        return _UNKNOWN_KW
    if isinstance(value, Op):
        return _to_edn_tree(op_to_map(value))
    if isinstance(value, dict):
        keep = isinstance(value, StrKeys)
        return {
            (Keyword(k) if isinstance(k, str) and not keep else _to_edn_tree(k)): _to_edn_tree(v, k == _VALID)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_to_edn_tree(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_edn_tree(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(_to_edn_tree(v) for v in value)
    return value


_WIDTH = 100


def _pretty(value: Any, indent: int) -> str:
    """EDN text of ``value`` laid out like Clojure's pprint: a form on one line if it fits."""
    flat = edn_format.dumps(value)
    if indent + len(flat) <= _WIDTH or not isinstance(value, (dict, list, tuple, frozenset)):
        return flat
    if isinstance(value, dict):
        pad = " " * (indent + 1)
        parts = []
        for k, v in value.items():
            key = edn_format.dumps(k)
            parts.append(f"{key} {_pretty(v, indent + 1 + len(key) + 1)}")
        return "{" + (",\n" + pad).join(parts) + "}"
    if isinstance(value, frozenset):
        open_, close, inner = "#{", "}", indent + 2
    elif isinstance(value, tuple):
        open_, close, inner = "(", ")", indent + 1
    else:
        open_, close, inner = "[", "]", indent + 1
    return open_ + ("\n" + " " * inner).join(_pretty(v, inner) for v in value) + close


def results_to_edn(results: dict[str, Any]) -> str:
    """results.edn text for a checker result map (see "Checker results" in docs/architecture.md)."""
    return _pretty(_to_edn_tree(results), 0) + "\n"


def _json_key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if isinstance(k, Keyword):
        return k.name
    if isinstance(k, bool) or k is None:
        return json.dumps(k)
    if isinstance(k, (int, float)):
        return repr(k)
    return pr(k)


def _to_json_tree(value: Any) -> Any:
    if isinstance(value, Keyword):
        return value.name
    if isinstance(value, Op):
        return _to_json_tree(op_to_map(value))
    if isinstance(value, dict):
        return {_json_key(k): _to_json_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json_tree(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [_to_json_tree(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (decimal.Decimal, fractions.Fraction)):
        return float(value)
    if isinstance(value, (Symbol, Char)):
        return str(value)
    if isinstance(value, edn_format.TaggedElement) and hasattr(value, "to_json"):
        return _to_json_tree(value.to_json())
    return value


def results_to_json(results: dict[str, Any], indent: int | None = 2) -> str:
    """results.json text: keys as-is, keywords as names, ``valid?`` true/false/"unknown"."""
    return json.dumps(_to_json_tree(results), indent=indent, ensure_ascii=False)


def _from_edn_tree(value: Any, in_valid: bool = False) -> Any:
    if in_valid and value == _UNKNOWN_KW:
        return UNKNOWN
    if isinstance(value, dict):
        # A map with non-keyword keys (e.g. unique-ids' duplicated ids) is StrKeys, so writing it
        # back keeps its string keys strings.
        out: dict[Any, Any] = {} if all(isinstance(k, Keyword) for k in value) else StrKeys()
        for k, v in value.items():
            key = k.name if isinstance(k, Keyword) else _from_edn_tree(k)
            out[key] = _from_edn_tree(v, key == _VALID)
        return out
    if isinstance(value, list):
        return [_from_edn_tree(v) for v in value]
    if isinstance(value, frozenset):
        return frozenset(_from_edn_tree(v) for v in value)
    return value


def read_results(path: str | Path) -> dict[str, Any]:
    """results.edn as a plain dict: keyword keys -> their names, ``:valid? :unknown`` -> UNKNOWN;
    keyword values stay :class:`Keyword`; a map with other keys is a :class:`StrKeys`.
    Reads ``results.edn.xz`` when only that exists."""
    data = loads(read_text(path))
    if not isinstance(data, dict):
        raise EDNDecodeError(f"{path}: results is not a map")
    return _from_edn_tree(data)
