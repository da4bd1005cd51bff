"""A small evaluator for CloudWatch Logs JSON filter patterns, enough for the CIS metric filters.

Semantics as the CloudWatch Logs user guide states them ("Filter pattern syntax for metric filters,
subscription filters, filter log events", section "Using filter patterns to match terms in JSON log
events"): `{ <selector> <op> <value> }` with selectors `$.a.b`, `=` and `!=` on strings (quoted or
bare; `*` is a wildcard), `EXISTS`/`NOT EXISTS`, `&&`, `||` and parentheses. A comparison on a
property the event lacks does not match (only `NOT EXISTS` matches a missing property).

A value `%...%` is a regular expression searched in the string ("Supported regular expressions (regex)
syntax"): only letters, digits, the symbols `: _ # = @ / ; , -` and the operators `^ $ ? [ ] { } | * + .` and the backslash;
no parentheses; at most two in a pattern. Anything else is refused here as CloudWatch refuses it.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

TOKEN = re.compile(r'\s*(%[^%]*%|\{|\}|\(|\)|&&|\|\||!=|=|NOT EXISTS|EXISTS|"(?:[^"\\]|\\.)*"|\$\.[\w.]+|[^\s(){}=!&|]+)')
REGEX_CHARACTERS = re.compile(r"^[A-Za-z0-9:_#=@/;,\-^$?\[\]{}|\\*+.]+$")
MAX_REGEXES = 2
MISSING = object()


def _tokens(pattern: str) -> list[str]:
    tokens, position = [], 0
    pattern = pattern.strip()
    while position < len(pattern):
        match = TOKEN.match(pattern, position)
        if not match:
            raise ValueError(f"cannot read filter pattern at {pattern[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _select(event: dict[str, Any], selector: str) -> Any:
    value: Any = event
    for part in selector.removeprefix("$.").split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _regex(term: str) -> re.Pattern[str]:
    body = term[1:-1]
    if not REGEX_CHARACTERS.match(body):
        raise ValueError(f"regex {term!r} uses characters CloudWatch Logs does not accept")
    return re.compile(body)


def _equals(actual: Any, expected: str) -> bool:
    if actual is MISSING or isinstance(actual, (dict, list)):
        return False
    if expected.startswith("%") and expected.endswith("%") and len(expected) > 1:
        return _regex(expected).search(str(actual)) is not None
    return fnmatch.fnmatchcase(str(actual), expected) if "*" in expected else str(actual) == expected


class _Parser:
    def __init__(self, tokens: list[str], event: dict[str, Any]):
        self.tokens, self.event, self.index = tokens, event, 0

    def _next(self) -> str:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def expression(self) -> bool:
        result = self.conjunction()
        while self._peek() == "||":
            self._next()
            right = self.conjunction()
            result = result or right
        return result

    def conjunction(self) -> bool:
        result = self.term()
        while self._peek() == "&&":
            self._next()
            right = self.term()
            result = result and right
        return result

    def term(self) -> bool:
        token = self._next()
        if token == "(":
            result = self.expression()
            if self._next() != ")":
                raise ValueError("unbalanced parentheses")
            return result
        if not token.startswith("$."):
            raise ValueError(f"expected a selector, got {token!r}")
        actual = _select(self.event, token)
        operator = self._next()
        if operator == "NOT EXISTS":
            return actual is MISSING
        if operator == "EXISTS":
            return actual is not MISSING
        value = self._next()
        value = value[1:-1] if value.startswith('"') else value
        if operator == "=":
            return _equals(actual, value)
        if operator == "!=":
            return actual is not MISSING and not _equals(actual, value)
        raise ValueError(f"unsupported operator {operator!r}")


def matches(pattern: str, event: dict[str, Any]) -> bool:
    tokens = _tokens(pattern)
    if sum(token.startswith("%") for token in tokens) > MAX_REGEXES:
        raise ValueError(f"more than {MAX_REGEXES} regular expressions in one pattern")
    if tokens[0] != "{" or tokens[-1] != "}":
        raise ValueError("a JSON filter pattern is enclosed in braces")
    parser = _Parser(tokens[1:-1], event)
    result = parser.expression()
    if parser.index != len(parser.tokens):
        raise ValueError(f"unexpected {parser.tokens[parser.index]!r}")
    return result
