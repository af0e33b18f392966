"""The admin shell's command language: parsing, parameter binding and formatting (pure, no tenant)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from labs.tenant.admin.binding import MISSING, CmdletSpec, MultiValue, ParamSpec, RawElement, bind
from labs.tenant.admin.builtins import compare, evaluate
from labs.tenant.admin.errors import ParseError, PSError
from labs.tenant.admin.format import PSObject, default_output, format_list, format_table, ps_date
from labs.tenant.admin.parser import (
    Arg,
    ArrayLit,
    Compare,
    HashLit,
    Logical,
    Not,
    Num,
    Param,
    ScriptBlock,
    Str,
    SubExpr,
    Var,
    parse,
)


def one(line: str) -> Any:
    (pipeline,) = parse(line)
    (command,) = pipeline.commands
    return command


# -- parsing -------------------------------------------------------------------------------------------------


def test_a_cmdlet_with_named_and_positional_arguments() -> None:
    cmd = one("Set-CASMailbox app@contoso.com -SmtpClientAuthenticationDisabled $false")
    assert cmd.name == "Set-CASMailbox"
    assert cmd.elements == (Arg(Str("app@contoso.com"), 15),
                            Param("SmtpClientAuthenticationDisabled", None, 31),
                            Arg(Var("false"), 65))


@pytest.mark.parametrize(("text", "value"), [
    ("'it''s'", Str("it's", True)),                          # single quotes double to escape
    ('"say ""hi"""', Str('say "hi"', True)),                   # doubled double quotes
    ('"tab`there"', Str("tab\there", True)),                   # backtick escapes
    ('"on: $true, off: $false, none: $null."', Str("on: True, off: False, none: .", True)),  # expansion
    ('"cost $5"', Str("cost $5", True)),                       # a lone $ stays
    ("42", Num(42)),                                           # numbers
    ("-7", Num(-7)),                                           # negative numbers are not parameters
    ("203.0.113.10/32", Str("203.0.113.10/32")),               # barewords keep dots and slashes
    ("a,b , c", ArrayLit((Str("a"), Str("b"), Str("c")))),     # comma arrays, spaces allowed
    ("@('x', 'y')", ArrayLit((Str("x", True), Str("y", True)))),
    ('@{Add="203.0.113.11"; Remove=\'198.51.100.1\'}',
     HashLit((("Add", Str("203.0.113.11", True)), ("Remove", Str("198.51.100.1", True))))),
    ("@{Add='a','b'}", HashLit((("Add", ArrayLit((Str("a", True), Str("b", True)))),))),
    ("$NULL", Var("null")),                                    # variable names are case-insensitive
    ("pre'quoted'post", Str("prequotedpost", True)),           # quotes inside a bareword
])
def test_argument_values(text: str, value: Any) -> None:
    assert one(f"Cmd {text}").elements[0].value == value


def test_colon_form_binds_its_value() -> None:
    assert one("Remove-InboundConnector X -Confirm:$false").elements[1] == Param("Confirm", Var("false"), 26,
                                                                               colon=True)


def test_pipelines_and_statements() -> None:
    pipelines = parse("Get-Mailbox | Select Name,Alias ; Get-TransportConfig # a comment")
    assert [[c.name for c in p.commands] for p in pipelines] == [["Get-Mailbox", "Select"], ["Get-TransportConfig"]]
    assert parse("   ") == [] and parse("# only a comment") == []


def test_script_block_expression() -> None:
    block = one("Where-Object {$_.Status -eq 'Delivered' -and -not ($_.Size -gt 10) -or $_.Enabled}").elements[0].value
    assert isinstance(block, ScriptBlock)
    assert block.body == Logical("or", Logical("and", Compare("eq", Var("_", ("Status",)), Str("Delivered", True)),
                                                Not(Compare("gt", Var("_", ("Size",)), Num(10)))),
                                 Var("_", ("Enabled",)))


def test_sub_expression_with_a_method_call() -> None:
    value = one("Get-MessageTraceV2 -StartDate (Get-Date).AddDays(-2)").elements[1].value
    assert isinstance(value, SubExpr)
    assert value.pipeline.commands[0].name == "Get-Date"
    assert value.members[0].name == "AddDays" and value.members[0].args == (Num(-2),)


def test_a_line_that_starts_with_a_value_writes_it() -> None:
    cmd = one("(Get-Date).AddHours(-1)")
    assert cmd.name == "Write-Output"


@pytest.mark.parametrize(("line", "message"), [
    ("Get-Mailbox -Identity 'app", "The string is missing the terminator: '."),
    ('Get-Mailbox -Identity "app', 'The string is missing the terminator: ".'),
    ("Get-Mailbox | Where-Object {$_.Name -eq 'x'", "Missing closing '}' in statement block or type definition."),
    ("Set-InboundConnector X -SenderDomains @{Add='a'", "The hash literal was incomplete."),
    ("Set-InboundConnector X -SenderDomains @{Add}", "Missing '=' operator after key in hash literal."),
    ("Get-Mailbox |", "An empty pipe element is not allowed."),
    ("Get-Mailbox | | Select Name", "An empty pipe element is not allowed."),
    ("Get-Mailbox -Identity $app", "The variable '$app' cannot be retrieved because it has not been set."),
    ('Get-Mailbox -Identity "$app"', "The variable '$app' cannot be retrieved because it has not been set."),
    ("Get-Mailbox | Where-Object {$_.Status -eq Delivered}",
     "Unexpected token 'Delivered' in expression or statement."),
    ("Get-Mailbox | Where-Object {$_.Status -equals 'x'}", "Unexpected token '-equals' in expression or statement."),
    ("Get-Mailbox a,", "Missing expression after ','."),
    ("Get-Mailbox -Identity:", "Missing an argument for parameter 'Identity'."),
    ("Get-Date)", "Unexpected token ')' in expression or statement."),
    ("Get-Mailbox < in.txt", "The '<' operator is reserved for future use."),
    ("(Get-Date", "Missing closing ')' in expression."),
])
def test_parse_errors_are_powershell_lines(line: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(line)
    assert caught.value.message == message


# -- binding ---------------------------------------------------------------------------------------------------


def _noop(ctx: Any, params: Any) -> list[Any]:
    return []


SPEC = CmdletSpec("Set-Thing", (
    ParamSpec("Identity", mandatory=True, position=0, pipeline=True),
    ParamSpec("SenderDomains", "multivalue"),
    ParamSpec("SenderIPAddresses", "multivalue"),
    ParamSpec("RequireTls", "bool"),
    ParamSpec("SmtpClientAuthenticationDisabled", "nullable-bool"),
    ParamSpec("ResultSize", "unlimited", minimum=1, maximum=1000),
    ParamSpec("ConnectorType", "enum", choices=("OnPremises", "Partner"), type_label="ConnectorType"),
    ParamSpec("StartDate", "datetime"),
), _noop, changes_state=True)


def el(name: str | None, value: Any = MISSING) -> RawElement:
    return RawElement(name, value, value if isinstance(value, str) else "")


def test_names_are_case_insensitive_prefixes_and_exact_names_win() -> None:
    bound = bind(SPEC, [el(None, "x"), el("requiretls", True), el("Smtp", None), el("Conn", "onpremises")])
    assert bound == {"Identity": "x", "RequireTls": True, "SmtpClientAuthenticationDisabled": None,
                     "ConnectorType": "OnPremises"}
    spec = CmdletSpec("Where-Thing", (ParamSpec("In", "switch"), ParamSpec("InputObject", "any")), _noop)
    assert bind(spec, [el("in")]) == {"In": True}


def test_switches_and_the_colon_form() -> None:
    assert bind(SPEC, [el("Identity", "x"), el("Confirm")])["Confirm"] is True
    assert bind(SPEC, [el("Identity", "x"), el("Confirm", False)])["Confirm"] is False


def test_multivalue_takes_a_list_or_add_remove() -> None:
    bound = bind(SPEC, [el(None, "x"), el("SenderDomains", ["a.com", "b.com"]),
                        el("SenderIPAddresses", {"add": "203.0.113.11", "Remove": ["198.51.100.1"]})])
    assert bound["SenderDomains"] == ["a.com", "b.com"]
    assert bound["SenderIPAddresses"] == MultiValue(("203.0.113.11",), ("198.51.100.1",))
    assert MultiValue(("c",), ("A",)).apply(["a", "b"]) == ["b", "c"]


def test_pipeline_input_binds_by_property_name() -> None:
    obj = PSObject("X", {"identity": "app@contoso.com", "Other": 1})
    assert bind(SPEC, [el("RequireTls", 1)], obj) == {"Identity": "app@contoso.com", "RequireTls": True}


def test_dates_in_the_formats_admins_type() -> None:
    for text in ("2026-11-25", "11/25/2026", "11/25/2026 9:30 AM", "2026-11-25T09:30:00Z"):
        assert bind(SPEC, [el(None, "x"), el("StartDate", text)])["StartDate"].date() == datetime(2026, 11, 25).date()


@pytest.mark.parametrize(("elements", "message"), [
    ([el(None, "x"), el("RequireTls", "maybe")],
     "Cannot process argument transformation on parameter 'RequireTls'. Cannot convert value \"maybe\" to type "
     "\"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0."),
    ([el(None, "x"), el("RequireTls", "true")],  # a bareword true is a string, as in PowerShell
     "Cannot process argument transformation on parameter 'RequireTls'. Cannot convert value \"true\" to type "
     "\"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0."),
    ([el(None, "x"), el("Identit2", "y")],
     "A parameter cannot be found that matches parameter name 'Identit2'. Did you mean 'Identity'?"),
    ([el(None, "x"), el("S", "y")],
     "Parameter cannot be processed because the parameter name 'S' is ambiguous. Possible matches include: "
     "-SenderDomains -SenderIPAddresses -SmtpClientAuthenticationDisabled -StartDate."),
    ([el("Identity", "x"), el("identity", "y")],
     "Cannot bind parameter because parameter 'Identity' is specified more than once. To provide multiple values "
     "to parameters that can accept multiple values, use the array syntax. For example, "
     "\"-parameter value1,value2,value3\"."),
    ([el(None, "x"), el(None, "y")], "A positional parameter cannot be found that accepts argument 'y'."),
    ([el(None, "x"), el("RequireTls")],
     "Missing an argument for parameter 'RequireTls'. Specify a parameter of type 'System.Boolean' and try again."),
    ([el("RequireTls", True)],
     "Cannot process command because of one or more missing mandatory parameters: Identity."),
    ([el(None, "x"), el("ResultSize", 5000)],
     "Cannot validate argument on parameter 'ResultSize'. The 5000 argument is greater than the maximum allowed "
     "range of 1000. Supply an argument that is less than or equal to 1000 and then try the command again."),
    ([el(None, "x"), el("ResultSize", "lots")],
     "Cannot process argument transformation on parameter 'ResultSize'. Cannot convert value \"lots\" to type "
     "\"Microsoft.Exchange.Data.Unlimited`1[System.Int32]\". Error: \"Input string was not in a correct format.\""),
    ([el(None, "x"), el("ConnectorType", "Partnr")],
     "Cannot bind parameter 'ConnectorType'. Cannot convert value \"Partnr\" to type \"ConnectorType\". Error: "
     "\"Unable to match the identifier name Partnr to a valid enumerator name. Specify one of the following "
     "enumerator names and try again: OnPremises, Partner\" Did you mean 'Partner'?"),
    ([el(None, "x"), el("SenderDomains", {"Replace": "a"})],
     "Cannot process argument transformation on parameter 'SenderDomains'. The hashtable key 'Replace' is not "
     "valid: use Add and Remove, for example @{Add=\"value\"}."),
    ([el(None, ["a", "b"])],
     "Cannot convert 'System.Object[]' to the type 'System.String' required by parameter 'Identity'. Specified "
     "method is not supported."),
    ([el(None, None)], "Cannot bind argument to parameter 'Identity' because it is null."),
    ([el(None, "")], "Cannot bind argument to parameter 'Identity' because it is an empty string."),
    ([el(None, "x"), el("StartDate", "yesterday")],
     "Cannot process argument transformation on parameter 'StartDate'. Cannot convert value \"yesterday\" to type "
     "\"System.DateTime\". Error: \"String 'yesterday' was not recognized as a valid DateTime.\""),
])
def test_binding_errors(elements: list[RawElement], message: str) -> None:
    with pytest.raises(PSError) as caught:
        bind(SPEC, elements)
    assert caught.value.message == message


def test_unlimited_and_numbers_from_text() -> None:
    assert bind(SPEC, [el(None, "x"), el("ResultSize", "unlimited")])["ResultSize"] == "Unlimited"
    assert bind(SPEC, [el(None, "x"), el("ResultSize", "25")])["ResultSize"] == 25
    assert bind(SPEC, [el(None, "x"), el("RequireTls", 0)])["RequireTls"] is False


# -- Where-Object comparisons --------------------------------------------------------------------------------


@pytest.mark.parametrize(("op", "left", "right", "expected"), [
    ("eq", "Delivered", "delivered", True),         # case-insensitive by default
    ("ceq", "Delivered", "delivered", False),       # c prefix: case-sensitive
    ("ne", "a", "b", True),
    ("eq", True, "True", True),                     # right side converted to the left's type
    ("eq", 25, "25", True),
    ("eq", None, None, True),
    ("like", "printer@contoso.com", "*@CONTOSO.com", True),
    ("notlike", "a", "b*", True),
    ("match", "550 5.7.64", r"5\.7\.6\d", True),
    ("gt", 10, "9", True),
    ("le", "abc", "ABD", True),
    ("contains", ["203.0.113.10", "203.0.113.11"], "203.0.113.11", True),
    ("notcontains", ["a"], "a", False),
    ("in", "Partner", ["OnPremises", "partner"], True),
    ("notin", "x", ["y"], True),
    ("eq", ["a", "b", "a"], "a", ["a", "a"]),          # a collection on the left filters
])
def test_comparisons(op: str, left: Any, right: Any, expected: Any) -> None:
    assert compare(op, left, right) == expected


def test_evaluate_reads_properties_of_the_current_object() -> None:
    block = one("W {$_.Status -eq 'Failed' -or $_.Size -ge 100}").elements[0].value
    assert evaluate(block.body, PSObject("T", {"Status": "failed", "Size": 1}))
    assert not evaluate(block.body, PSObject("T", {"Status": "Delivered", "Size": 99}))


# -- formatting ------------------------------------------------------------------------------------------------


def test_table_is_aligned_like_powershell() -> None:
    rows = [PSObject("T", {"Name": "HQ", "Enabled": True, "Size": 5, "SenderIPAddresses": ["203.0.113.10"]}),
            PSObject("T", {"Name": "Datacenter relay", "Enabled": False, "Size": 1234, "SenderIPAddresses": []})]
    assert format_table(rows, ["Name", "Enabled", "Size", "SenderIPAddresses"]) == (
        "Name             Enabled Size SenderIPAddresses\n"
        "----             ------- ---- -----------------\n"
        "HQ               True       5 {203.0.113.10}\n"
        "Datacenter relay False   1234 {}\n")


def test_list_pads_names() -> None:
    obj = PSObject("T", {"Name": "x", "RejectDirectSend": False, "Comment": None})
    assert format_list([obj]) == "Name             : x\nRejectDirectSend : False\nComment          :\n"


def test_default_output_uses_a_table_up_to_four_properties() -> None:
    small = [PSObject("S", {"A": 1, "B": "x"})]
    big = [PSObject("B", {k: 1 for k in "ABCDE"})]
    assert default_output(small).startswith("A B\n- -\n")
    assert default_output(big).startswith("A : 1\nB : 1\n")


def test_dates_print_as_powershell_en_us() -> None:
    assert ps_date(datetime(2026, 11, 26, 9, 5, 7, tzinfo=UTC)) == "11/26/2026 9:05:07 AM"
    assert ps_date(datetime(2026, 1, 2, 0, 0, 0, tzinfo=UTC)) == "1/2/2026 12:00:00 AM"
    assert ps_date(datetime(2026, 1, 2, 13, 0, 0, tzinfo=UTC)) == "1/2/2026 1:00:00 PM"
