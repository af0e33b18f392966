"""Provides the parser of the admin shell's PowerShell-flavoured command language (pure).

The grammar is the part of PowerShell that the course's cmdlets need::

    script     := pipeline ((';' | newline) pipeline)*
    pipeline   := command ('|' command)*
    command    := NAME element*
    element    := '-' NAME [':' value]             parameter (the colon form binds a value)
                | value                           argument
    value      := item (',' item)*                comma array
    item       := 'single quoted' | "double quoted" | bareword | number
                | $true | $false | $null | $_[.Prop]
                | @{ key = expr; ... }            hashtable (Exchange's @{Add=...; Remove=...})
                | @( expr, ... )                  array
                | { expr }                        script block (Where-Object)
                | ( pipeline ) [.Member[(args)]]  sub-expression, e.g. (Get-Date).AddDays(-2)
    expr       := and ('-or' and)*
    and        := unary ('-and' unary)*
    unary      := ('-not' | '!') unary | operand [OP operand]
    OP         := -eq -ne -gt -ge -lt -le -like -notlike -match -notmatch -contains
                  -notcontains -in -notin (each also with an i or c prefix)

Barewords are strings; parameter names are resolved later, when the command binds them, so
the parser does not need to know any cmdlet. Variables other than ``$true``, ``$false``,
``$null`` and ``$_`` are refused (the shell has no assignments); in double-quoted strings those
three expand as PowerShell would. Errors are :class:`~labs.tenant.admin.errors.ParseError`
with PowerShell's parser messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labs.tenant.admin.errors import ParseError

__all__ = [
    "COMPARISON_OPERATORS",
    "ArrayLit",
    "Arg",
    "Command",
    "Compare",
    "Expr",
    "HashLit",
    "Logical",
    "Member",
    "Node",
    "Not",
    "Num",
    "Param",
    "Pipeline",
    "ScriptBlock",
    "Str",
    "SubExpr",
    "Var",
    "parse",
]

COMPARISON_OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch",
                        "contains", "notcontains", "in", "notin")
"""Comparison operators of Where-Object script blocks (case-insensitive; c-prefix: case-sensitive)."""

_KNOWN_VARIABLES = ("true", "false", "null", "_")
_BAREWORD_END = set(" \t\r\n|;,(){}")
_NAME_RE = re.compile(r"[A-Za-z_?][A-Za-z0-9_?\-]*")
_PARAM_RE = re.compile(r"-([A-Za-z_?][A-Za-z0-9_]*)(:?)")
_VAR_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_INT_RE = re.compile(r"^[+-]?\d+$")
_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


@dataclass(frozen=True)
class Str:
    """A string: a bareword (``quoted`` False) or a quoted literal."""

    value: str
    quoted: bool = False


@dataclass(frozen=True)
class Num:
    """An integer literal."""

    value: int


@dataclass(frozen=True)
class Var:
    """``$true``, ``$false``, ``$null`` or ``$_`` with an optional property path (``$_.Status``)."""

    name: str
    path: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArrayLit:
    """A comma list or ``@(...)``."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class HashLit:
    """``@{Key = value; ...}``; keys keep the case typed."""

    items: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Member:
    """``.Name`` or ``.Name(args)`` after a sub-expression."""

    name: str
    args: tuple[Node, ...] | None = None


@dataclass(frozen=True)
class SubExpr:
    """``( pipeline )`` followed by member accesses."""

    pipeline: Pipeline
    members: tuple[Member, ...] = ()


@dataclass(frozen=True)
class Compare:
    """``left -op right``; ``op`` is lower case and may keep its c/i prefix."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical:
    """``left -and right`` or ``left -or right``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not:
    """``-not expr`` or ``!expr``."""

    expr: Expr


@dataclass(frozen=True)
class ScriptBlock:
    """``{ expr }`` as given to Where-Object."""

    body: Expr
    text: str


Node = Str | Num | Var | ArrayLit | HashLit | SubExpr | ScriptBlock
"""A value in command or expression mode."""

Expr = Node | Compare | Logical | Not
"""A script-block expression."""


@dataclass(frozen=True)
class Param:
    """``-Name`` or ``-Name:value``; ``name`` is as typed, without the dash."""

    name: str
    value: Node | None
    position: int
    colon: bool = False


@dataclass(frozen=True)
class Arg:
    """A positional argument (or the value after a parameter; binding decides)."""

    value: Node
    position: int


@dataclass(frozen=True)
class Command:
    """One command of a pipeline."""

    name: str
    elements: tuple[Param | Arg, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Pipeline:
    """Commands joined by ``|``; ``start``/``end`` delimit its text in the line."""

    commands: tuple[Command, ...]
    start: int
    end: int


def parse(line: str) -> list[Pipeline]:
    """Parse a command line into pipelines.

    Args:
        line: what was typed.

    Returns:
        The pipelines in order (empty for a blank line or a comment).

    Raises:
        ParseError: with PowerShell's message for the first problem found.
    """
    return _Parser(line).script()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # -- scanning helpers --------------------------------------------------------------------------

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def skip_blanks(self, newlines: bool = False) -> None:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self.pos += 1
            elif ch == "`" and self.peek(1) in ("\n", "\r"):  # line continuation
                self.pos += 2
            elif ch == "#":
                while self.pos < len(self.text) and self.text[self.pos] not in "\r\n":
                    self.pos += 1
            else:
                break

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def unexpected(self, what: str | None = None) -> ParseError:
        token = what if what is not None else self._token_text()
        return ParseError(f"Unexpected token '{token}' in expression or statement.", self.pos)

    def _token_text(self) -> str:
        match = re.compile(r"[^\s|;,(){}]+|.").match(self.text, self.pos)
        return match.group(0) if match else ""

    # -- statements ------------------------------------------------------------------------------------

    def script(self) -> list[Pipeline]:
        pipelines: list[Pipeline] = []
        while True:
            self.skip_blanks(newlines=True)
            while self.peek() == ";":
                self.pos += 1
                self.skip_blanks(newlines=True)
            if self.at_end():
                return pipelines
            pipelines.append(self.pipeline())
            self.skip_blanks()
            ch = self.peek()
            if ch in (";", "\n", "\r", ""):
                continue
            if ch == ")":
                raise ParseError("Unexpected token ')' in expression or statement.", self.pos)
            if ch == "}":
                raise ParseError("Unexpected token '}' in expression or statement.", self.pos)
            raise self.unexpected()

    def pipeline(self) -> Pipeline:
        start = self.pos
        commands = [self.command()]
        while True:
            self.skip_blanks()
            if self.peek() != "|":
                break
            if self.peek(1) == "|":
                raise ParseError("The token '||' is not a valid statement separator in this version.", self.pos)
            self.pos += 1
            self.skip_blanks(newlines=True)
            if self.at_end() or self.peek() in ";|)":
                raise ParseError("An empty pipe element is not allowed.", self.pos)
            commands.append(self.command())
        return Pipeline(tuple(commands), start, self.pos)

    def command(self) -> Command:
        start = self.pos
        ch = self.peek()
        if ch == "&":
            raise ParseError("The ampersand (&) character is not allowed. The & operator is reserved for future use; "
                             "wrap an ampersand in double quotation marks (\"&\") to pass it as part of a string.",
                             self.pos)
        if ch in ("'", '"', "$", "(", "@") or ch.isdigit() or (ch == "-" and self.peek(1).isdigit()):
            expression = self.value()
            return Command("Write-Output", (Arg(expression, start),), start, self.pos)
        if ch == "{":
            raise ParseError("A script block cannot be run on its own here; give it to Where-Object.", self.pos)
        match = re.compile(r"[A-Za-z_?][A-Za-z0-9_\-?]*").match(self.text, self.pos)
        if match is None:
            raise self.unexpected()
        name = match.group(0)
        self.pos = match.end()
        if not (self.at_end() or self.peek() in _BAREWORD_END):
            raise self.unexpected()
        elements: list[Param | Arg] = []
        while True:
            self.skip_blanks()
            ch = self.peek()
            if ch in ("", "|", ";", "\n", "\r", ")", "}"):
                break
            at = self.pos
            if ch == "-":
                param = _PARAM_RE.match(self.text, self.pos)
                if param is not None and (param.end() >= len(self.text) or self.text[param.end()] in _BAREWORD_END
                                          or param.group(2)):
                    self.pos = param.end()
                    value: Node | None = None
                    if param.group(2):
                        self.skip_blanks()
                        if self.at_end() or self.peek() in "|;)}\r\n":
                            raise ParseError(f"Missing an argument for parameter '{param.group(1)}'.", self.pos)
                        value = self.value()
                    elements.append(Param(param.group(1), value, at, colon=bool(param.group(2))))
                    continue
                if self.peek(1) == "-" and (self.pos + 2 >= len(self.text) or self.text[self.pos + 2] in " \t"):
                    raise ParseError("The stop-parsing token '--%' and the end-of-parameters token '--' are not "
                                     "supported here.", self.pos)
            elements.append(Arg(self.value(), at))
        return Command(name, tuple(elements), start, self.pos)

    # -- command-mode values ---------------------------------------------------------------------------

    def value(self) -> Node:
        first = self.item()
        items = [first]
        while True:
            save = self.pos
            self.skip_blanks()
            if self.peek() != ",":
                self.pos = save
                break
            self.pos += 1
            self.skip_blanks(newlines=True)
            if self.at_end() or self.peek() in "|;)}":
                raise ParseError("Missing expression after ','.", self.pos)
            items.append(self.item())
        return first if len(items) == 1 else ArrayLit(tuple(items))

    def item(self) -> Node:
        ch = self.peek()
        if ch == "'":
            return Str(self.single_quoted(), True)
        if ch == '"':
            return Str(self.double_quoted(), True)
        if ch == "$":
            return self.variable()
        if ch == "@":
            return self.at_literal()
        if ch == "{":
            return self.script_block()
        if ch == "(":
            return self.sub_expression()
        if ch == "<":
            raise ParseError("The '<' operator is reserved for future use.", self.pos)
        if ch == "&":
            raise ParseError("The ampersand (&) character is not allowed. The & operator is reserved for future use; "
                             "wrap an ampersand in double quotation marks (\"&\") to pass it as part of a string.",
                             self.pos)
        return self.bareword()

    def bareword(self) -> Node:
        start = self.pos
        parts: list[str] = []
        quoted = False
        while not self.at_end() and self.peek() not in _BAREWORD_END:
            ch = self.peek()
            if ch == "'":
                parts.append(self.single_quoted())
                quoted = True
            elif ch == '"':
                parts.append(self.double_quoted())
                quoted = True
            elif ch == "`":
                if self.pos + 1 >= len(self.text):
                    raise ParseError("Missing the character after the escape character (`).", self.pos)
                parts.append(self.text[self.pos + 1])
                self.pos += 2
            elif ch == "$" and self.pos > start:
                parts.append(self.expand_variable())
            else:
                parts.append(ch)
                self.pos += 1
        text = "".join(parts)
        if self.pos == start:
            raise self.unexpected()
        if not quoted and _INT_RE.match(text):
            return Num(int(text))
        return Str(text, quoted)

    def single_quoted(self) -> str:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while True:
            if self.at_end():
                raise ParseError("The string is missing the terminator: '.", start)
            ch = self.text[self.pos]
            if ch == "'":
                if self.peek(1) == "'":
                    out.append("'")
                    self.pos += 2
                    continue
                self.pos += 1
                return "".join(out)
            out.append(ch)
            self.pos += 1

    def double_quoted(self) -> str:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        escapes = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "e": "\x1b"}
        while True:
            if self.at_end():
                raise ParseError('The string is missing the terminator: ".', start)
            ch = self.text[self.pos]
            if ch == '"':
                if self.peek(1) == '"':
                    out.append('"')
                    self.pos += 2
                    continue
                self.pos += 1
                return "".join(out)
            if ch == "`":
                if self.pos + 1 >= len(self.text):
                    raise ParseError('The string is missing the terminator: ".', start)
                nxt = self.text[self.pos + 1]
                out.append(escapes.get(nxt, nxt))
                self.pos += 2
                continue
            if ch == "$":
                out.append(self.expand_variable())
                continue
            out.append(ch)
            self.pos += 1

    def expand_variable(self) -> str:
        """Expand ``$true``/``$false``/``$null`` inside a string; a lone ``$`` stays."""
        if self.peek(1) == "(":
            raise ParseError("Sub-expressions ($(...)) are not supported in relaylab's admin shell.", self.pos)
        match = _VAR_RE.match(self.text, self.pos)
        if match is None:
            self.pos += 1
            return "$"
        name = match.group(1).lower()
        self.pos = match.end()
        if name == "true":
            return "True"
        if name == "false":
            return "False"
        if name == "null":
            return ""
        raise ParseError(f"The variable '${match.group(1)}' cannot be retrieved because it has not been set.",
                         match.start())

    def variable(self) -> Node:
        start = self.pos
        if self.peek(1) == "(":
            raise ParseError("Sub-expressions ($(...)) are not supported in relaylab's admin shell; "
                             "use parentheses: (Get-Date).AddDays(-1).", self.pos)
        match = _VAR_RE.match(self.text, self.pos)
        if match is None:
            raise ParseError("Variable reference is not valid. '$' was not followed by a valid variable name "
                             "character. Consider using ${} to delimit the name.", self.pos)
        name = match.group(1)
        if name.lower() not in _KNOWN_VARIABLES:
            raise ParseError(f"The variable '${name}' cannot be retrieved because it has not been set.", start)
        self.pos = match.end()
        path: list[str] = []
        while self.peek() == "." and re.match(r"[A-Za-z_]", self.peek(1) or " "):
            prop = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(self.text, self.pos + 1)
            assert prop is not None
            path.append(prop.group(0))
            self.pos = prop.end()
        if path and name != "_":
            raise ParseError(f"The property '{path[0]}' cannot be found on this object. Verify that the property "
                             "exists.", start)
        return Var(name.lower(), tuple(path))

    def at_literal(self) -> Node:
        nxt = self.peek(1)
        if nxt == "{":
            return self.hashtable()
        if nxt == "(":
            start = self.pos
            self.pos += 2
            items: list[Node] = []
            while True:
                self.skip_blanks(newlines=True)
                if self.peek() == ")":
                    self.pos += 1
                    return ArrayLit(tuple(items))
                if self.at_end():
                    raise ParseError("Missing closing ')' in subexpression.", start)
                if items:
                    if self.peek() not in ",;":
                        raise self.unexpected()
                    self.pos += 1
                    self.skip_blanks(newlines=True)
                items.append(self.operand())
        raise ParseError("Unrecognized token in source text.", self.pos)

    def hashtable(self) -> Node:
        start = self.pos
        self.pos += 2
        items: list[tuple[str, Node]] = []
        while True:
            self.skip_blanks(newlines=True)
            while self.peek() == ";":
                self.pos += 1
                self.skip_blanks(newlines=True)
            if self.peek() == "}":
                self.pos += 1
                return HashLit(tuple(items))
            if self.at_end():
                raise ParseError("The hash literal was incomplete.", start)
            if self.peek() in ("'", '"'):
                key = self.single_quoted() if self.peek() == "'" else self.double_quoted()
            else:
                match = _KEY_RE.match(self.text, self.pos)
                if match is None:
                    raise ParseError("Missing key before '=' in hash literal.", self.pos)
                key = match.group(0)
                self.pos = match.end()
            self.skip_blanks()
            if self.peek() != "=":
                raise ParseError("Missing '=' operator after key in hash literal.", self.pos)
            self.pos += 1
            self.skip_blanks()
            if self.at_end() or self.peek() in ";}":
                raise ParseError("Missing statement after '=' in hash literal.", self.pos)
            items.append((key, self.operand_list()))
            self.skip_blanks()
            if self.peek() not in (";", "}", "\n", "\r", ""):
                raise ParseError("Missing statement after '=' in hash literal.", self.pos)

    def sub_expression(self) -> Node:
        start = self.pos
        self.pos += 1
        self.skip_blanks(newlines=True)
        if self.peek() == ")":
            raise ParseError("An expression was expected after '('.", self.pos)
        inner = self.pipeline()
        self.skip_blanks(newlines=True)
        if self.peek() != ")":
            if self.at_end():
                raise ParseError("Missing closing ')' in expression.", start)
            raise self.unexpected()
        self.pos += 1
        members: list[Member] = []
        while self.peek() == ".":
            match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(self.text, self.pos + 1)
            if match is None:
                raise ParseError("Missing property name after reference operator.", self.pos)
            self.pos = match.end()
            args: tuple[Node, ...] | None = None
            if self.peek() == "(":
                self.pos += 1
                found: list[Node] = []
                while True:
                    self.skip_blanks()
                    if self.peek() == ")":
                        self.pos += 1
                        break
                    if self.at_end():
                        raise ParseError("Missing closing ')' in method call.", start)
                    if found:
                        if self.peek() != ",":
                            raise self.unexpected()
                        self.pos += 1
                        self.skip_blanks()
                    found.append(self.operand())
                args = tuple(found)
            members.append(Member(match.group(0), args))
        return SubExpr(inner, tuple(members))

    def script_block(self) -> Node:
        start = self.pos
        self.pos += 1
        self.skip_blanks(newlines=True)
        if self.peek() == "}":
            raise ParseError("The script block is empty: give a condition, for example {$_.Enabled -eq $true}.",
                             self.pos)
        body = self.expression()
        self.skip_blanks(newlines=True)
        if self.peek() != "}":
            if self.at_end():
                raise ParseError("Missing closing '}' in statement block or type definition.", start)
            raise self.unexpected()
        self.pos += 1
        return ScriptBlock(body, self.text[start:self.pos])

    # -- expression mode (script blocks, hashtable values, method arguments) -------------------------

    def expression(self) -> Expr:
        left = self.conjunction()
        while self.operator_ahead("or"):
            right = self.conjunction()
            left = Logical("or", left, right)
        return left

    def conjunction(self) -> Expr:
        left = self.unary()
        while self.operator_ahead("and"):
            right = self.unary()
            left = Logical("and", left, right)
        return left

    def operator_ahead(self, name: str) -> bool:
        save = self.pos
        self.skip_blanks(newlines=True)
        match = re.compile(r"-([A-Za-z]+)").match(self.text, self.pos)
        if match is not None and match.group(1).lower() == name:
            self.pos = match.end()
            self.skip_blanks(newlines=True)
            return True
        self.pos = save
        return False

    def unary(self) -> Expr:
        self.skip_blanks()
        if self.peek() == "!":
            self.pos += 1
            return Not(self.unary())
        match = re.compile(r"-not\b", re.IGNORECASE).match(self.text, self.pos)
        if match is not None:
            self.pos = match.end()
            self.skip_blanks()
            return Not(self.unary())
        if self.peek() == "(":
            start = self.pos
            self.pos += 1
            inner = self.expression()
            self.skip_blanks(newlines=True)
            if self.peek() != ")":
                raise ParseError("Missing closing ')' in expression.", start)
            self.pos += 1
            return self.comparison_tail(inner)
        left = self.operand_list()
        return self.comparison_tail(left)

    def comparison_tail(self, left: Expr) -> Expr:
        save = self.pos
        self.skip_blanks()
        match = re.compile(r"-([A-Za-z]+)").match(self.text, self.pos)
        if match is None:
            self.pos = save
            return left
        op = match.group(1).lower()
        base = op[1:] if op[:1] in ("c", "i") and op[1:] in COMPARISON_OPERATORS else op
        if base in ("and", "or"):
            self.pos = save
            return left
        if base not in COMPARISON_OPERATORS:
            raise ParseError(f"Unexpected token '-{match.group(1)}' in expression or statement.", self.pos)
        self.pos = match.end()
        self.skip_blanks()
        if self.at_end() or self.peek() in "})":
            raise ParseError(f"You must provide a value expression following the '-{match.group(1)}' operator.",
                             self.pos)
        if not isinstance(left, (Str, Num, Var, ArrayLit, HashLit, SubExpr, ScriptBlock)):
            raise self.unexpected(f"-{match.group(1)}")
        right = self.operand_list()
        return Compare(op, left, right)

    def operand_list(self) -> Node:
        first = self.operand()
        items = [first]
        while True:
            save = self.pos
            self.skip_blanks()
            if self.peek() != ",":
                self.pos = save
                break
            self.pos += 1
            self.skip_blanks()
            items.append(self.operand())
        return first if len(items) == 1 else ArrayLit(tuple(items))

    def operand(self) -> Node:
        self.skip_blanks()
        ch = self.peek()
        if ch == "'":
            return Str(self.single_quoted(), True)
        if ch == '"':
            return Str(self.double_quoted(), True)
        if ch == "$":
            return self.variable()
        if ch == "@":
            return self.at_literal()
        number = re.compile(r"[+-]?\d+(?![\w.])").match(self.text, self.pos)
        if number is not None:
            self.pos = number.end()
            return Num(int(number.group(0)))
        if ch == "":
            raise ParseError("An expression was expected after the operator.", self.pos)
        raise self.unexpected()
