"""The expression language of spec files (``where:`` in mapping specs and ``adam.yaml``).

Expressions are parsed with Python's :mod:`ast` (``mode="eval"``) and then checked against an
allow-list; nothing is ever handed to ``eval``, pandas ``eval``/``query`` or any other
interpreter. The grammar (documented for users in ``docs/mapping-spec.md``, "Expressions"):

* column names: ``AESEV``, or in backquotes for any other name: ```IT.DSDECOD```;
* literals: ``'text'`` / ``"text"``, numbers, ``True``, ``False``, ``None``;
* comparisons ``==  !=  <  <=  >  >=`` (chains such as ``1 <= X < 5`` too),
  ``X in ['A', 'B']`` / ``X not in (1, 2)`` with a literal list;
* ``and``, ``or``, ``not``, parentheses;
* arithmetic ``+ - * /`` and unary ``-`` on numbers;
* the functions in :data:`FUNCTIONS`.

Everything else (attribute access, subscripts, other calls, lambdas, comprehensions,
f-strings, ``:=``, ``*x``, ``**``, ``@`` …) is a :class:`SpecError` naming the file, the line
and the offending construct.

Evaluation is vectorised over pandas Series (no Python per row). Values are compared as
numbers when either side is a number (a numeric column or a number literal; text that is not
a number is then missing), otherwise as text, where a missing value is the blank text ``''``
(SDTM's missing character value). A missing number is unequal to everything and never
less or greater.
"""
from __future__ import annotations

import ast
import operator
from functools import lru_cache
from typing import Callable

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import SpecError

__all__ = ["Expression", "FUNCTIONS", "compile_expression", "evaluate", "where_mask",
           "columns_of"]

MAX_LENGTH = 2000

#: name -> (number of arguments, what it does); the second argument of the text tests must
#: be a text literal
FUNCTIONS = {
    "isnull": (1, "true where the value is missing or blank"),
    "notnull": (1, "true where the value is neither missing nor blank"),
    "upper": (1, "text in upper case"),
    "lower": (1, "text in lower case"),
    "strip": (1, "text without leading/trailing blanks"),
    "len": (1, "number of characters of the text (0 when blank)"),
    "number": (1, "the value as a number (missing when it is not one)"),
    "startswith": (2, "true where the text starts with the literal text given"),
    "endswith": (2, "true where the text ends with the literal text given"),
    "contains": (2, "true where the text contains the literal text given (not a pattern)"),
}
_LITERAL_SECOND = {"startswith", "endswith", "contains"}

_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
            ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv}

_NAMES = {
    ast.Attribute: "attribute access", ast.Subscript: "a subscript", ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator",
    ast.JoinedStr: "an f-string", ast.FormattedValue: "an f-string",
    ast.NamedExpr: "an assignment (:=)", ast.Starred: "a starred expression (*x)",
    ast.IfExp: "a conditional expression (x if c else y)", ast.Dict: "a dict",
    ast.Set: "a set", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
    ast.Slice: "a slice",
}
_OPERATOR_NAMES = {ast.Pow: "**", ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@",
                   ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|",
                   ast.BitXor: "^", ast.Invert: "~", ast.Is: "is", ast.IsNot: "is not"}

GRAMMAR_HINT = ("allowed: column names, `quoted names`, text/number/True/False/None, "
                "== != < <= > >=, in/not in [literals], and/or/not, + - * /, and the "
                "functions " + ", ".join(FUNCTIONS) + " (docs/mapping-spec.md, Expressions)")


def _place(file, line) -> str | None:
    if file is None:
        return None
    return f"{file}:{line}" if line else str(file)


class Expression(str):
    """A checked expression: the text as written, plus its parsed tree and where it came from.

    It *is* the text (a ``str``), so it prints and compares as written.
    """

    tree: ast.Expression
    names: dict[str, str]           # placeholder identifier -> backquoted column name
    file: str | None
    line: int | None

    def columns(self) -> set[str]:
        """The column names the expression reads."""
        functions = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        return {self.names.get(n.id, n.id) for n in ast.walk(self.tree)
                if isinstance(n, ast.Name) and id(n) not in functions}


def _unquote_backticks(text: str) -> tuple[str, dict[str, str]]:
    """Replace ```name``` (outside string literals) by placeholder identifiers."""
    out, names, i, quote = [], {}, 0, None
    while i < len(text):
        c = text[i]
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
            out.append(c)
        elif c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ValueError("a backquote (`) is not closed")
            placeholder = f"BQ_{len(names)}_"
            while placeholder in text:
                placeholder += "_"
            names[placeholder] = text[i + 1:end]
            out.append(f" {placeholder} ")
            i = end
        else:
            out.append(c)
        i += 1
    return "".join(out), names


def _refuse(node: ast.AST, source: str, file, line, what: str | None = None):
    try:
        snippet = ast.get_source_segment(source, node) or ast.unparse(node)
    except Exception:       # noqa: BLE001 - only for the message
        snippet = type(node).__name__
    what = what or _NAMES.get(type(node), f"{type(node).__name__} syntax")
    raise SpecError(f"expression {source!r}: {what} is not allowed (`{snippet}`); "
                    f"{GRAMMAR_HINT}", file=_place(file, line), rule="SPEC-EXPR")


def _check(node: ast.AST, source: str, file, line, names: dict[str, str]) -> None:
    """Walk the tree; anything outside the allow-list is refused."""
    def fail(n, what=None):
        _refuse(n, source, file, line, what)

    def visit(n, *, in_list=False):
        if isinstance(n, ast.Constant):
            if not (n.value is None or isinstance(n.value, (str, int, float, bool))):
                fail(n, f"the literal {n.value!r}")
        elif isinstance(n, ast.Name):
            if n.id.startswith("_") and n.id not in names:
                fail(n, f"the name {n.id!r} (names starting with _ are reserved)")
        elif isinstance(n, ast.BoolOp):
            for v in n.values:
                visit(v)
        elif isinstance(n, ast.UnaryOp):
            if not isinstance(n.op, (ast.Not, ast.USub, ast.UAdd)):
                fail(n, f"the operator {_OPERATOR_NAMES.get(type(n.op), type(n.op).__name__)}")
            visit(n.operand)
        elif isinstance(n, ast.BinOp):
            if type(n.op) not in _ARITH:
                fail(n, f"the operator {_OPERATOR_NAMES.get(type(n.op), type(n.op).__name__)}")
            visit(n.left)
            visit(n.right)
        elif isinstance(n, ast.Compare):
            visit(n.left)
            for op, right in zip(n.ops, n.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    if len(n.ops) != 1:
                        fail(n, "a chained `in`")
                    if not isinstance(right, (ast.List, ast.Tuple)):
                        fail(right, "`in` with something other than a literal list")
                    for item in right.elts:
                        if not isinstance(item, ast.Constant):
                            fail(item, "a non-literal item in an `in` list")
                        visit(item)
                elif type(op) not in _COMPARE:
                    fail(n, f"the operator {_OPERATOR_NAMES.get(type(op), type(op).__name__)}")
                else:
                    visit(right)
        elif isinstance(n, ast.Call):
            if isinstance(n.func, ast.Attribute):
                hint = (f" (write {n.func.attr}(COLUMN, ...) instead)"
                        if n.func.attr in FUNCTIONS else "")
                fail(n, f"attribute access (a method call){hint}")
            if not isinstance(n.func, ast.Name) or n.func.id not in FUNCTIONS:
                fail(n, f"a call to {ast.unparse(n.func)}")
            if n.keywords:
                fail(n, "keyword arguments")
            arity, _ = FUNCTIONS[n.func.id]
            if len(n.args) != arity:
                fail(n, f"{n.func.id}() with {len(n.args)} argument(s) (it takes {arity})")
            if n.func.id in _LITERAL_SECOND and not (
                    isinstance(n.args[1], ast.Constant) and isinstance(n.args[1].value, str)):
                fail(n.args[1], f"a second argument of {n.func.id}() that is not a text "
                                "literal")
            for a in n.args:
                if isinstance(a, ast.Starred):
                    fail(a)
                visit(a)
        else:
            fail(n)

    visit(node.body)


@lru_cache(maxsize=4096)
def _compile(text: str, file, line) -> Expression:
    if not isinstance(text, str) or not text.strip():
        raise SpecError("an expression must be non-empty text", file=_place(file, line),
                        rule="SPEC-EXPR")
    if len(text) > MAX_LENGTH:
        raise SpecError(f"expression longer than {MAX_LENGTH} characters",
                        file=_place(file, line), rule="SPEC-EXPR")
    try:
        source, names = _unquote_backticks(text)
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError) as err:
        detail = getattr(err, "msg", None) or str(err)
        raise SpecError(f"expression {text!r} is not valid: {detail}; {GRAMMAR_HINT}",
                        file=_place(file, line), rule="SPEC-EXPR") from None
    except (RecursionError, MemoryError):
        raise SpecError(f"expression {text[:60]!r}... is nested too deeply",
                        file=_place(file, line), rule="SPEC-EXPR") from None
    try:
        _check(tree, source.strip(), file, line, names)
    except RecursionError:
        raise SpecError(f"expression {text[:60]!r}... is nested too deeply",
                        file=_place(file, line), rule="SPEC-EXPR") from None
    expr = Expression(text)
    expr.tree, expr.names, expr.file, expr.line = tree, names, file, line
    return expr


def compile_expression(text, *, file=None, line: int | None = None) -> Expression:
    """Parse and check ``text`` (an :class:`Expression` passes through unchanged).

    Raises :class:`SpecError` (rule ``SPEC-EXPR``) naming ``file:line`` and the offending
    construct.
    """
    if isinstance(text, Expression):
        return text
    return _compile(text, None if file is None else str(file), line)


def columns_of(text, **kwargs) -> set[str]:
    """The column names an expression reads."""
    return compile_expression(text, **kwargs).columns()


# -- evaluation ------------------------------------------------------------------------------

def _is_number_scalar(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _is_numeric(v) -> bool:
    if isinstance(v, pd.Series):
        return pd.api.types.is_numeric_dtype(v.dtype) and not pd.api.types.is_bool_dtype(v.dtype)
    return _is_number_scalar(v)


def _is_bool(v) -> bool:
    if isinstance(v, pd.Series):
        return pd.api.types.is_bool_dtype(v.dtype)
    return isinstance(v, (bool, np.bool_))


def _number(v):
    if isinstance(v, pd.Series):
        if _is_numeric(v):
            return v.astype(float)
        return pd.to_numeric(v.where(v.notna(), None).astype(object), errors="coerce").astype(float)
    if v is None:
        return np.nan
    if _is_number_scalar(v):
        return float(v)
    try:
        return float(str(v).strip()) if str(v).strip() else np.nan
    except ValueError:
        return np.nan


def _number_text(value) -> str:
    return np.format_float_positional(float(value), trim="-")


def _text(v):
    """Values as text; missing as ''; numbers without a trailing '.0'."""
    if isinstance(v, pd.Series):
        if _is_numeric(v):
            codes, uniques = pd.factorize(v, use_na_sentinel=True)
            table = np.array([_number_text(u) for u in uniques] + [""], dtype=object)
            return pd.Series(table[codes], index=v.index, dtype=object)
        if _is_bool(v):
            return v.map({True: "True", False: "False"}).astype(object)
        if pd.api.types.is_datetime64_any_dtype(v.dtype):
            return _iso_text(v)
        return v.where(v.notna(), "")
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if _is_number_scalar(v):
        return _number_text(v)
    return str(v)


def _iso_text(v: pd.Series) -> pd.Series:
    """A datetime column (ADaM's --DT/--DTM) as ISO 8601 text, so that it compares with
    ISO text in time order like an SDTM --DTC: the date alone at midnight, else date and
    time to the second; missing as ''."""
    text = v.dt.strftime("%Y-%m-%d")
    timed = v.notna() & (v.dt.normalize() != v)
    if timed.any():
        text = text.where(~timed, v.dt.strftime("%Y-%m-%dT%H:%M:%S"))
    return text.where(v.notna(), "").astype(object)


def _as_bool(v, what: str, expr: Expression):
    if _is_bool(v):
        return v
    raise SpecError(f"expression {str(expr)!r}: {what} needs true/false values, but gets "
                    f"{_kind(v)}", file=_place(expr.file, expr.line), rule="SPEC-EXPR-TYPE")


def _kind(v) -> str:
    if isinstance(v, pd.Series):
        return "numbers" if _is_numeric(v) else "true/false" if _is_bool(v) else "text"
    return "a number" if _is_number_scalar(v) else "true/false" if _is_bool(v) else (
        "nothing (None)" if v is None else "text")


def _text_array(v):
    """Text values as a numpy object array (missing as '') or a str scalar."""
    if isinstance(v, pd.Series):
        if _is_numeric(v) or _is_bool(v) or pd.api.types.is_datetime64_any_dtype(v.dtype):
            return _text(v).to_numpy()
        arr = v.to_numpy(dtype=object)
        missing = pd.isna(arr)
        if missing.any():
            arr = arr.copy()
            arr[missing] = ""
        return arr
    return _text(v)


def _compare(op, left, right):
    index = left.index if isinstance(left, pd.Series) else (
        right.index if isinstance(right, pd.Series) else None)
    if _is_numeric(left) or _is_numeric(right):
        result = op(_number(left), _number(right))
    elif _is_bool(left) and _is_bool(right):
        result = op(left, right)
    elif (op in (operator.eq, operator.ne) and isinstance(left, pd.Series)
          and left.dtype == object and isinstance(right, str) and right != ""):
        # the common `X == 'A'` on millions of rows: a missing value is '' and '' equals no
        # non-blank literal, so the column is compared as it is (numpy: no copy, no fill)
        result = op(left.to_numpy(dtype=object), right)
    else:
        result = op(_text_array(left), _text_array(right))
    if index is None:
        return bool(result)
    if isinstance(result, pd.Series):
        return result.astype(bool)
    return pd.Series(np.asarray(result, dtype=bool), index=index)


def _isin(left, items: list, negate: bool, index):
    if _is_numeric(left) or (items and all(_is_number_scalar(i) for i in items)
                             and not isinstance(left, pd.Series)):
        values = _number(left)
        wanted = [_number(i) for i in items]
        wanted = [w for w in wanted if not np.isnan(w)]
    else:
        values = _text(left)
        wanted = [_text(i) for i in items]
    if isinstance(values, pd.Series):
        result = values.isin(wanted)
    else:
        result = values in wanted
    return ~result if negate else result


def _call(name: str, args: list, expr: Expression):
    x = args[0]
    if name in ("isnull", "notnull"):
        if isinstance(x, pd.Series):
            missing = x.isna() | (_text(x).str.strip() == "") if not _is_numeric(x) else x.isna()
        else:
            missing = x is None or _text(x).strip() == "" or (
                isinstance(x, float) and np.isnan(x))
        return missing if name == "isnull" else ~missing if isinstance(missing, pd.Series) \
            else not missing
    if name == "number":
        return _number(x)
    text = _text(x)
    if isinstance(text, pd.Series):
        text = text.astype(str)          # string functions need str in every row
    if name in ("upper", "lower", "strip"):
        return getattr(text.str, name)() if isinstance(text, pd.Series) else getattr(text, name)()
    if name == "len":
        return text.str.len().astype(float) if isinstance(text, pd.Series) else float(len(text))
    needle = args[1]
    if isinstance(text, pd.Series):
        if name == "contains":
            return text.str.contains(needle, regex=False).astype(bool)
        return getattr(text.str, name)(needle).astype(bool)
    return (needle in text) if name == "contains" else getattr(text, name)(needle)


def evaluate(expr, lookup: Callable[[str], pd.Series], available: Callable[[str], bool], *,
             file=None, line: int | None = None):
    """Evaluate an expression; ``lookup(name)`` gives a column (a Series on the rows),
    ``available(name)`` says whether it exists. Returns a Series or a scalar."""
    expr = compile_expression(expr, file=file, line=line)

    def column(name: str):
        real = expr.names.get(name, name)
        if not available(real):
            raise SpecError(f"expression {str(expr)!r}: column {real!r} does not exist here",
                            file=_place(expr.file, expr.line), rule="SPEC-EXPR-COLUMN",
                            variable=real)
        return lookup(real)

    def ev(n):
        if isinstance(n, ast.Constant):
            return n.value
        if isinstance(n, ast.Name):
            return column(n.id)
        if isinstance(n, ast.BoolOp):
            values = [_as_bool(ev(v), "`and`/`or`", expr) for v in n.values]
            result = values[0]
            for v in values[1:]:
                result = (result & v) if isinstance(n.op, ast.And) else (result | v)
            return result
        if isinstance(n, ast.UnaryOp):
            v = ev(n.operand)
            if isinstance(n.op, ast.Not):
                v = _as_bool(v, "`not`", expr)
                return ~v if isinstance(v, pd.Series) else not v
            v = _number(v)
            return -v if isinstance(n.op, ast.USub) else v
        if isinstance(n, ast.BinOp):
            a, b = _number(ev(n.left)), _number(ev(n.right))
            with np.errstate(divide="ignore", invalid="ignore"):
                if isinstance(n.op, ast.Div):
                    # division by zero gives a missing number, never infinity
                    b = b.where(b != 0) if isinstance(b, pd.Series) else (np.nan if b == 0 else b)
                return _ARITH[type(n.op)](a, b)
        if isinstance(n, ast.Compare):
            left = ev(n.left)
            if isinstance(n.ops[0], (ast.In, ast.NotIn)):
                return _isin(left, [e.value for e in n.comparators[0].elts],
                             isinstance(n.ops[0], ast.NotIn), None)
            result = None
            for op, right_node in zip(n.ops, n.comparators):
                right = ev(right_node)
                part = _compare(_COMPARE[type(op)], left, right)
                result = part if result is None else (result & part)
                left = right
            return result
        if isinstance(n, ast.Call):
            args = [ev(a) for a in n.args]
            return _call(n.func.id, args, expr)
        raise SpecError(f"expression {str(expr)!r}: unexpected construct",       # checked
                        file=_place(expr.file, expr.line), rule="SPEC-EXPR")     # at parse

    return ev(expr.tree.body)


def where_mask(expr, frame, *, file=None, line: int | None = None,
               index=None) -> pd.Series:
    """The rows where ``expr`` holds, as a boolean Series on the rows of ``frame``.

    ``frame`` is a DataFrame, or anything with ``__contains__``, ``__getitem__`` (name ->
    Series) and ``index``. The result must be true/false for every row: an expression giving
    text or numbers is a :class:`SpecError` (rule ``SPEC-EXPR-TYPE``).
    """
    expr = compile_expression(expr, file=file, line=line)
    index = frame.index if index is None else index
    columns = frame.columns if isinstance(frame, pd.DataFrame) else None
    available = (lambda n: n in columns) if columns is not None else (lambda n: n in frame)
    result = evaluate(expr, lambda n: frame[n], available)
    if isinstance(result, pd.Series):
        if not _is_bool(result):
            raise SpecError(f"where {str(expr)!r} must give true/false for every row, but "
                            f"gives {_kind(result)}", file=_place(expr.file, expr.line),
                            rule="SPEC-EXPR-TYPE")
        return result.astype(bool)
    if not _is_bool(result):
        raise SpecError(f"where {str(expr)!r} must give true/false for every row, but gives "
                        f"{_kind(result)}", file=_place(expr.file, expr.line),
                        rule="SPEC-EXPR-TYPE")
    return pd.Series(bool(result), index=index)
