"""CloudWatch Logs Insights query text: tokens and a recursive-descent parser into a small AST.

Grammar (Logs Insights QL, spec §8.3): commands separated by `|`; `#` starts a comment.

    query    := command ('|' command)*
    command  := fields items | display names | filter expr | stats aggs [by items] | sort keys
              | limit N | parse expr (STRING | REGEX) [as names] | dedup names
    expr     := or;  or := and ('or' and)*;  and := not ('and' not)*;  not := 'not' not | cmp
    cmp      := sum [op sum | [not] like (STRING|REGEX) | =~ (STRING|REGEX) | [not] in '[' list ']']
    sum      := term (('+'|'-') term)*;  term := power (('*'|'/'|'%') power)*;  power := unary ('^' unary)*
    unary    := '-' unary | NUMBER | STRING | DURATION | REGEX | name '(' args ')' | name | '(' expr ')'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vpcflow.errors import QueryError

COMMANDS = ("fields", "display", "filter", "stats", "sort", "limit", "parse", "dedup")
KEYWORDS = {"and", "or", "not", "like", "in", "as", "by", "asc", "desc"}
DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
CALENDAR_UNITS = {"mo": "month", "q": "quarter", "y": "year"}

_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\n]+)|(?P<comment>\#[^\n]*)
    |(?P<duration>\d+(?:ms|mo|s|m|h|d|w|q|y)(?![A-Za-z0-9_]))
    |(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    |(?P<backtick>`[^`]*`)
    |(?P<name>[A-Za-z_@][A-Za-z0-9_@.]*)
    |(?P<op>=~|!=|<=|>=|[=<>|,()\[\]+\-*/%^])""",
    re.X,
)
_REGEX_AFTER = {"like", "=~", "(", ",", "|"}


@dataclass(frozen=True)
class Token:
    kind: str  # name | number | string | duration | regex | op | end
    text: str
    value: object
    line: int
    col: int
    pos: int
    end: int


class Source:
    """The query text, for error messages that point at a token."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.splitlines() or [""]

    def error(self, token: Token, message: str) -> QueryError:
        line = self.lines[min(token.line, len(self.lines)) - 1] if self.lines else ""
        caret = " " * (token.col - 1) + "^" * max(1, min(len(token.text), len(line) - token.col + 1))
        return QueryError(
            f"Insights query, line {token.line}, column {token.col}: {message}\n  {line}\n  {caret}"
        )


def tokenize(src: Source) -> list[Token]:
    text, tokens, pos, line, line_start = src.text, [], 0, 1, 0
    while pos < len(text):
        col = pos - line_start + 1
        if text[pos] == "/" and _regex_may_start(tokens):
            end = _regex_end(text, pos)
            if end < 0:
                raise src.error(
                    Token("op", "/", "/", line, col, pos, pos + 1), "regular expression is not closed by /"
                )
            tokens.append(Token("regex", text[pos:end], text[pos + 1 : end - 1], line, col, pos, end))
            pos = end
            continue
        m = _TOKEN.match(text, pos)
        if not m:
            raise src.error(
                Token("op", text[pos], text[pos], line, col, pos, pos + 1),
                f"unexpected character {text[pos]!r}",
            )
        kind, value = m.lastgroup, m.group()
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "backtick":
            kind, value = "name", value[1:-1]
        elif kind == "number":
            value = float(value) if any(c in value for c in ".eE") else int(value)
        if kind not in ("ws", "comment"):
            tokens.append(Token(kind, m.group(), value, line, col, pos, m.end()))
        for i, ch in enumerate(m.group()):
            if ch == "\n":
                line, line_start = line + 1, pos + i + 1
        pos = m.end()
    tokens.append(Token("end", "", None, line, pos - line_start + 1, pos, pos))
    return tokens


def _regex_may_start(tokens: list[Token]) -> bool:
    if not tokens:
        return True
    last = tokens[-1]
    if last.text.lower() in _REGEX_AFTER:
        return True
    # parse @message /regex/: a field right after the `parse` command
    return len(tokens) >= 2 and tokens[-2].text == "parse" and last.kind == "name"


def _regex_end(text: str, pos: int) -> int:
    i = pos + 1
    while i < len(text) and text[i] != "\n":
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "/":
            return i + 1
        i += 1
    return -1


# --- AST ----------------------------------------------------------------------------------------


@dataclass
class Node:
    token: Token  # where it starts, for errors
    text: str = field(default="", compare=False)  # its source text (names unaliased stats columns)


@dataclass
class Name(Node):
    name: str = ""


@dataclass
class Literal(Node):
    value: object = None


@dataclass
class Regex(Node):
    pattern: str = ""


@dataclass
class Duration(Node):
    seconds: float = 0
    calendar: str | None = None  # month | quarter | year
    count: int = 1


@dataclass
class Call(Node):
    name: str = ""
    args: list = field(default_factory=list)
    star: bool = False  # count(*)


@dataclass
class Binary(Node):
    op: str = ""
    left: Node | None = None
    right: Node | None = None


@dataclass
class Not(Node):
    operand: Node | None = None


@dataclass
class Negate(Node):
    operand: Node | None = None


@dataclass
class Like(Node):
    subject: Node | None = None
    pattern: Node | None = None  # Literal (substring) or Regex
    negated: bool = False


@dataclass
class In(Node):
    subject: Node | None = None
    items: list = field(default_factory=list)
    negated: bool = False


@dataclass
class Item:
    expr: Node
    alias: str | None = None
    descending: bool | None = None  # sort keys only


@dataclass
class Command:
    name: str
    token: Token
    items: list[Item] = field(default_factory=list)
    by: list[Item] = field(default_factory=list)  # stats
    condition: Node | None = None  # filter
    count: int | None = None  # limit
    pattern: Node | None = None  # parse: Literal (glob) or Regex
    names: list[Token] = field(default_factory=list)  # parse ... as names


class Parser:
    def __init__(self, text: str):
        self.src = Source(text)
        self.tokens = tokenize(self.src)
        self.i = 0

    # token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == "name" and self.tok.text.lower() in words

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def expect_op(self, op: str) -> Token:
        if not self.is_op(op):
            raise self.error(f"expected {op!r}")
        return self.next()

    def error(self, message: str, token: Token | None = None) -> QueryError:
        token = token or self.tok
        found = "the end of the query" if token.kind == "end" else repr(token.text)
        return self.src.error(token, f"{message}, found {found}")

    def span(self, start: Token) -> str:
        end = self.tokens[self.i - 1].end
        return " ".join(self.src.text[start.pos : end].split())

    # query
    def parse(self) -> list[Command]:
        commands = [self.command()]
        while self.is_op("|"):
            self.next()
            commands.append(self.command())
        if self.tok.kind != "end":
            raise self.error("expected '|' before the next command")
        return commands

    def command(self) -> Command:
        token = self.tok
        if token.kind != "name" or token.text not in COMMANDS:
            if token.kind == "name" and token.text.lower() in COMMANDS:
                raise self.src.error(token, f"commands are lower case: write {token.text.lower()!r}")
            raise self.error(f"expected a command ({', '.join(COMMANDS)})")
        self.next()
        cmd = Command(token.text, token)
        if cmd.name == "filter":
            cmd.condition = self.expr()
        elif cmd.name in ("fields", "display", "dedup"):
            cmd.items = self.items(alias=cmd.name == "fields")
        elif cmd.name == "stats":
            cmd.items = self.items(alias=True, stop=("by",))
            if self.is_word("by"):
                self.next()
                cmd.by = self.items(alias=True)
        elif cmd.name == "sort":
            cmd.items = self.items(alias=False, direction=True)
        elif cmd.name == "limit":
            if self.tok.kind != "number" or not isinstance(self.tok.value, int):
                raise self.error("limit takes a whole number of rows")
            cmd.count = self.next().value
        elif cmd.name == "parse":
            cmd.items = [Item(self.unary())]
            if self.tok.kind == "string":
                t = self.next()
                cmd.pattern = Literal(t, t.text, t.value)
            elif self.tok.kind == "regex":
                t = self.next()
                cmd.pattern = Regex(t, t.text, t.value)
            else:
                raise self.error('parse takes a glob pattern ("* * *") or a /regular expression/')
            if self.is_word("as"):
                self.next()
                cmd.names = [self.name_token()]
                while self.is_op(","):
                    self.next()
                    cmd.names.append(self.name_token())
        return cmd

    def name_token(self) -> Token:
        if self.tok.kind != "name":
            raise self.error("expected a field name")
        return self.next()

    def items(self, *, alias: bool, stop: tuple = (), direction: bool = False) -> list[Item]:
        items = [self.item(alias, direction)]
        while self.is_op(","):
            self.next()
            items.append(self.item(alias, direction))
        return items

    def item(self, alias: bool, direction: bool) -> Item:
        expr = self.expr()
        item = Item(expr)
        if alias and self.is_word("as"):
            self.next()
            item.alias = self.name_token().value
        if direction and self.is_word("asc", "desc"):
            item.descending = self.next().text.lower() == "desc"
        return item

    # expressions
    def expr(self) -> Node:
        start = self.tok
        left = self.conj()
        while self.is_word("or"):
            op = self.next()
            left = Binary(op, "", "or", left, self.conj())
        left.text = left.text or self.span(start)
        return left

    def conj(self) -> Node:
        left = self.negation()
        while self.is_word("and"):
            op = self.next()
            left = Binary(op, "", "and", left, self.negation())
        return left

    def negation(self) -> Node:
        if self.is_word("not"):
            op = self.next()
            return Not(op, "", self.negation())
        return self.comparison()

    def comparison(self) -> Node:
        start = self.tok
        left = self.sum()
        if self.is_op("=", "!=", "<", "<=", ">", ">="):
            op = self.next()
            return Binary(op, self.span(start), op.text, left, self.sum())
        negated = False
        if self.is_word("not") and self.tokens[self.i + 1].text.lower() in ("like", "in"):
            self.next()
            negated = True
        if self.is_word("like") or self.is_op("=~"):
            op = self.next()
            if self.tok.kind == "string":
                t = self.next()
                pattern: Node = Literal(t, t.text, t.value)
            elif self.tok.kind == "regex":
                t = self.next()
                pattern = Regex(t, t.text, t.value)
            else:
                raise self.error(f'{op.text} takes a "string" or a /regular expression/')
            return Like(op, self.span(start), left, pattern, negated)
        if self.is_word("in"):
            op = self.next()
            self.expect_op("[")
            items = [] if self.is_op("]") else [self.sum()]
            while self.is_op(","):
                self.next()
                items.append(self.sum())
            self.expect_op("]")
            return In(op, self.span(start), left, items, negated)
        if negated:
            raise self.error("expected like or in after not")
        return left

    def sum(self) -> Node:
        start = self.tok
        left = self.term()
        while self.is_op("+", "-"):
            op = self.next()
            left = Binary(op, "", op.text, left, self.term())
            left.text = self.span(start)
        return left

    def term(self) -> Node:
        start = self.tok
        left = self.power()
        while self.is_op("*", "/", "%"):
            op = self.next()
            left = Binary(op, "", op.text, left, self.power())
            left.text = self.span(start)
        return left

    def power(self) -> Node:
        start = self.tok
        left = self.unary()
        while self.is_op("^"):
            op = self.next()
            left = Binary(op, "", "^", left, self.unary())
            left.text = self.span(start)
        return left

    def unary(self) -> Node:
        t = self.tok
        if self.is_op("-"):
            self.next()
            return Negate(t, self.span(t), self.unary())
        if t.kind == "number":
            self.next()
            return Literal(t, t.text, t.value)
        if t.kind == "string":
            self.next()
            return Literal(t, t.text, t.value)
        if t.kind == "regex":
            self.next()
            return Regex(t, t.text, t.value)
        if t.kind == "duration":
            self.next()
            return _duration(t)
        if self.is_op("("):
            self.next()
            inner = self.expr()
            self.expect_op(")")
            inner.text = self.span(t)
            return inner
        if t.kind == "name" and (t.text.startswith("`") or t.text.lower() not in KEYWORDS):
            self.next()
            if self.is_op("("):
                return self.call(t)
            return Name(t, t.text, t.value)
        raise self.error("expected a field, a value or a function")

    def call(self, name: Token) -> Call:
        self.expect_op("(")
        call = Call(name, "", name.text)
        if self.is_op("*"):
            self.next()
            call.star = True
        elif not self.is_op(")"):
            call.args.append(self.expr())
            while self.is_op(","):
                self.next()
                call.args.append(self.expr())
        self.expect_op(")")
        call.text = self.span(name)
        return call


def _duration(t: Token) -> Duration:
    m = re.fullmatch(r"(\d+)(ms|mo|s|m|h|d|w|q|y)", t.text)
    count, unit = int(m.group(1)), m.group(2)
    if unit in CALENDAR_UNITS:
        return Duration(t, t.text, 0, CALENDAR_UNITS[unit], count)
    return Duration(t, t.text, count * DURATION_UNITS[unit], None, count)


def parse_query(text: str) -> tuple[Source, list[Command]]:
    parser = Parser(text)
    return parser.src, parser.parse()
