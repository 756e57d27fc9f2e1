"""CBV 2.0 vocabularies and JSON-LD names, built in so that nothing is fetched at run time.

A CBV value may be written three ways, all accepted and all equal:
`shipping`, `urn:epcglobal:cbv:bizstep:shipping`, `https://ref.gs1.org/cbv/BizStep-shipping`
(also the CURIE `cbv:BizStep-shipping`). Anything else must be clearly a user extension: an
`http(s)` URI outside GS1's hosts, a `urn:` outside `urn:epcglobal:`, or a CURIE whose prefix
the document declares for a non-GS1 namespace.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

# Prefixes of the standard EPCIS 2.0 JSON-LD context (ref.gs1.org/standards/epcis/2.0.0).
STANDARD_PREFIXES: dict[str, str] = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": "https://ref.gs1.org/cbv/",
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": "https://gs1.org/voc/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}

BIZ_STEPS = frozenset("""
accepting arriving assembling collecting commissioning consigning creating_class_instance
cycle_counting decommissioning departing destroying disassembling dispensing encoding
entering_exiting holding inspecting installing killing loading other packing picking receiving
removing repackaging repairing replacing reserving retail_selling sampling sensor_reporting
shipping staging_outbound stock_taking stocking storing transporting unloading unpacking
void_shipping""".split())

DISPOSITIONS = frozenset("""
active available completeness_inferred completeness_verified conformant container_closed
container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit
inactive mismatch_class mismatch_instance mismatch_quantity needs_replacement no_pedigree_match
non_conformant non_sellable_other partially_dispensed recalled reserved retail_sold returned
sellable_accessible sellable_not_accessible stolen unavailable unknown""".split())

BIZ_TRANSACTION_TYPES = frozenset(
    "bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt".split())
SOURCE_DEST_TYPES = frozenset("owning_party possessing_party location".split())
ERROR_REASONS = frozenset("did_not_occur incorrect_data".split())
SENSOR_ALERTS = frozenset("ALARM_CONDITION ERROR_CONDITION".split())
COMPONENTS = frozenset("""x y z axial_distance azimuth height spherical_radius polar_angle
elevation_angle easting northing latitude longitude altitude""".split())
MEASUREMENT_TYPES = frozenset("""
AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude
AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum
AngularVelocity Area Capacitance Conductance Conductivity Count Density Dimensionless
DoseEquivalent DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent
ElectricCurrentDensity ElectricFieldStrength Energy Exposure Force Frequency Illuminance
Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux
LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass
MassConcentration MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy
MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity RelativeHumidity Resistance
Resistivity SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension Temperature Time
Torque Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux Wavenumber""".split())



class Vocabulary:
    """One CBV vocabulary: its bare terms and how they are written as URN and web URI."""

    def __init__(self, name: str, terms: frozenset[str], urn: str | None, web: str) -> None:
        self.name = name
        self.terms = terms
        self.urn = urn  # e.g. "urn:epcglobal:cbv:bizstep:"
        self.web = web  # e.g. "https://ref.gs1.org/cbv/BizStep-"

    def example(self) -> str:
        return ", ".join(sorted(self.terms)[:6]) + ", ..."


VOCABULARIES: dict[str, Vocabulary] = {
    "bizStep": Vocabulary("CBV business step", BIZ_STEPS, "urn:epcglobal:cbv:bizstep:",
                          "https://ref.gs1.org/cbv/BizStep-"),
    "disposition": Vocabulary("CBV disposition", DISPOSITIONS, "urn:epcglobal:cbv:disp:",
                              "https://ref.gs1.org/cbv/Disp-"),
    "bizTransactionType": Vocabulary("CBV business transaction type", BIZ_TRANSACTION_TYPES,
                                     "urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    "sourceDestType": Vocabulary("CBV source/destination type", SOURCE_DEST_TYPES,
                                 "urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    "errorReason": Vocabulary("CBV error reason", ERROR_REASONS, "urn:epcglobal:cbv:er:",
                              "https://ref.gs1.org/cbv/ER-"),
    "measurementType": Vocabulary("GS1 measurement type", MEASUREMENT_TYPES, None,
                                  "https://gs1.org/voc/"),
    "sensorAlert": Vocabulary("GS1 sensor alert type", SENSOR_ALERTS, None,
                              "https://gs1.org/voc/"),
    "component": Vocabulary("CBV component", COMPONENTS, None, "https://ref.gs1.org/cbv/Comp-"),
}

_GS1_HOST = re.compile(r"^https?://([a-z0-9-]+\.)*gs1\.org(/|$)", re.IGNORECASE)
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def expand_term(kind: str, value: str, expand: Callable[[str], str] = lambda v: v) -> str:
    """The web URI of a bare CBV term of `kind`; other values pass through `expand`."""
    vocab = VOCABULARIES[kind]
    if value in vocab.terms:
        return vocab.web + value
    return expand(value)


def cbv_term(kind: str, value: str, prefixes: Mapping[str, str] = STANDARD_PREFIXES) -> str | None:
    """The bare CBV term `value` stands for (in any of its spellings), or None."""
    vocab = VOCABULARIES[kind]
    if value in vocab.terms:
        return value
    full = expand_curie(value, prefixes)
    for prefix in (vocab.urn, vocab.web, vocab.web.replace("https://", "http://")):
        if prefix and full.startswith(prefix) and full[len(prefix):] in vocab.terms:
            return full[len(prefix):]
    return None


def expand_curie(value: str, prefixes: Mapping[str, str]) -> str:
    prefix, sep, local = value.partition(":")
    if sep and prefix in prefixes and not local.startswith("//"):
        return prefixes[prefix] + local
    return value


def check_term(kind: str, value: object, prefixes: Mapping[str, str],
               strict_gs1: bool = True) -> str | None:
    """None when `value` is a valid `kind` value; otherwise what was expected.

    Valid: a CBV term in any spelling, or a user-extension URI (an http(s) URI outside GS1's
    hosts, a `urn:` outside `urn:epcglobal:`, or a CURIE with a declared non-GS1 prefix).
    With `strict_gs1=False`, URIs on GS1 hosts that are not CBV terms are tolerated too (the
    source/destination and business transaction types of the OpenEPCIS corpus need this).
    """
    vocab = VOCABULARIES[kind]
    expected = (f"expected a {vocab.name} ({vocab.example()}) or a user-extension URI "
                f"outside GS1's namespaces, got {value!r}")
    if not isinstance(value, str) or not value.strip():
        return expected
    if cbv_term(kind, value, prefixes) is not None:
        return None
    full = expand_curie(value, prefixes)
    if full.startswith("urn:epcglobal:"):
        return f"{value!r} is in the CBV namespace but is not a {vocab.name}; {expected}"
    if _GS1_HOST.match(full):
        if strict_gs1:
            return f"{value!r} is in GS1's namespace but is not a {vocab.name}; {expected}"
        return None
    if full.startswith(("http://", "https://")) and len(full) > len("https://x"):
        return None
    if full.startswith("urn:") and full.count(":") >= 2:
        return None
    prefix, sep, _ = value.partition(":")
    if sep and prefix not in prefixes:
        return f"prefix {prefix!r} of {value!r} is not declared in @context; {expected}"
    return expected


def check_name(name: str, prefixes: Mapping[str, str]) -> str | None:
    """None when an extension member name is namespaced; otherwise what was expected."""
    if name.startswith("@"):
        return None
    prefix, sep, local = name.partition(":")
    if sep and (local.startswith("//") or prefix == "urn"):
        return None if _ABSOLUTE.match(name) else f"{name!r} is not a valid absolute URI"
    if sep and prefix in prefixes and local:
        return None
    if sep and local:
        return (f"prefix {prefix!r} of {name!r} is not declared in @context: declare it "
                f'(e.g. {{"{prefix}": "https://example.com/ns/"}}) or use a full URI')
    return (f"{name!r} is not namespaced: user extensions need a declared prefix "
            f"(e.g. example:{name}) or a full URI")
