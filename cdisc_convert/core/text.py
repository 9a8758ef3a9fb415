"""How numbers and lists are written in generated prose (define.xml method texts)."""
from __future__ import annotations

from typing import Iterable


def number_text(x: float) -> str:
    """A number as written in method texts: 18 not 18.0."""
    return f"{x:g}" if isinstance(x, float) else str(x)


def quote_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# -- conditions ------------------------------------------------------------------------------
_COMPARE = {"Eq": "=", "NotEq": "is not", "Lt": "<", "LtE": "<=", "Gt": ">", "GtE": ">="}
_ARITHMETIC = {"Add": "+", "Sub": "-", "Mult": "x", "Div": "/"}
_CALLS = {"isnull": "{0} is blank", "notnull": "{0} is not blank",
          "upper": "{0} in upper case", "lower": "{0} in lower case", "strip": "{0}",
          "len": "the length of {0}", "number": "{0} as a number",
          "startswith": "{0} starts with {1}", "endswith": "{0} ends with {1}",
          "contains": "{0} contains {1}"}


def condition_text(where) -> str:
    """A ``where:`` expression (docs/mapping-spec.md, "Expressions") as a reviewer reads it in
    define.xml: ``DTHDAT != ''`` -> ``DTHDAT is not blank``, ``A == 'x' and B in ['y', 'z']``
    -> ``A = 'x' and B is one of 'y', 'z'``. Text that is not a valid expression is
    returned as written."""
    import ast

    from .errors import SpecError
    from .expr import compile_expression

    try:
        expr = compile_expression(str(where))
    except SpecError:
        return str(where)
    names = expr.names

    def literal(node) -> str | None:
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, str):
                return f"'{v}'"
            if v is None:
                return "missing"
            if isinstance(v, bool):
                return "true" if v else "false"
            return number_text(v)
        return None

    def text(node, parent=None) -> str:
        if isinstance(node, ast.Name):
            return names.get(node.id, node.id)
        lit = literal(node)
        if lit is not None:
            return lit
        if isinstance(node, (ast.List, ast.Tuple)):
            return ", ".join(text(e) for e in node.elts)
        if isinstance(node, ast.BoolOp):
            word = " and " if isinstance(node.op, ast.And) else " or "
            out = word.join(text(v, node) for v in node.values)
            return f"({out})" if isinstance(parent, (ast.BoolOp, ast.UnaryOp)) else out
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return f"not {text(node.operand, node)}"
            return f"-{text(node.operand, node)}"
        if isinstance(node, ast.BinOp):
            op = _ARITHMETIC.get(type(node.op).__name__, "?")
            return f"{text(node.left, node)} {op} {text(node.right, node)}"
        if isinstance(node, ast.Compare):
            parts, left = [], node.left
            for op, right in zip(node.ops, node.comparators):
                name, lhs = type(op).__name__, text(left, node)
                blank = isinstance(right, ast.Constant) and right.value == ""
                if name in ("Eq", "NotEq") and blank:
                    parts.append(f"{lhs} is {'blank' if name == 'Eq' else 'not blank'}")
                elif name == "In":
                    parts.append(f"{lhs} is one of {text(right, node)}")
                elif name == "NotIn":
                    parts.append(f"{lhs} is none of {text(right, node)}")
                else:
                    parts.append(f"{lhs} {_COMPARE.get(name, '?')} {text(right, node)}")
                left = right
            out = " and ".join(parts)
            return f"({out})" if len(parts) > 1 and parent is not None else out
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [text(a, node) for a in node.args]
            template = _CALLS.get(node.func.id)
            if template is not None and len(args) >= template.count("{"):
                return template.format(*args)
            return f"{node.func.id}({', '.join(args)})"
        return ast.unparse(node)

    return text(expr.tree.body)
