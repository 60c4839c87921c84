"""snmpsim variation module `ignoreset`: a value that acknowledges every SET and keeps what it had,
like a switch that answers noError and does not apply the change. Record value: `hexvalue=HEX` or
`value=TEXT`. Loaded by snmpsim (exec'd, not imported) through `--variation-modules-dir`."""

from snmpsim.grammar.snmprec import SnmprecGrammar
from snmpsim.record.snmprec import SnmprecRecord


def init(**context):
    pass


def variate(oid, tag, value, **context):
    if not context["nextFlag"] and not context["exactMatch"]:
        return context["origOid"], tag, context["errorStatus"]
    settings = dict(item.split("=", 1) for item in value.split(","))
    kind = SnmprecGrammar.TAG_MAP[SnmprecRecord.unpack_tag(tag)[0]]
    if "hexvalue" in settings:
        return oid, tag, kind(hexValue=settings["hexvalue"])
    return oid, tag, kind(settings["value"])


def shutdown(**context):
    pass
