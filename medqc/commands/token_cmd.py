"""``medqc token``: a CDS Hooks client JWT signed by the development EHR key, for local testing.

    curl -H "Authorization: Bearer $(medqc token)" http://127.0.0.1:8080/cds-services
    medqc token --service medqc-discharge-qc      # aud = the discharge service's URL
    medqc token --issuers                         # the MEDQC_CDS_ISSUERS value that trusts the key

A token is good for one call (its ``jti`` is remembered) and ``--lifetime`` seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medqc import devkey
from medqc.settings import get_settings


def token_command(
    service: Annotated[
        str | None, typer.Option(help="a CDS service id: aud is that service's URL (default: discovery)")
    ] = None,
    aud: Annotated[str | None, typer.Option(help="the exact aud (the URL the token will be sent to)")] = None,
    lifetime: Annotated[int, typer.Option(min=10, max=3600, help="seconds the token is valid")] = 300,
    issuers: Annotated[
        bool, typer.Option("--issuers", help="print the MEDQC_CDS_ISSUERS value trusting the key instead")
    ] = False,
    init: Annotated[bool, typer.Option("--init", help="create the development key if there is none")] = False,
) -> None:
    """Print a CDS client JWT signed with the development key (made by `make demo` or --init)."""
    settings = get_settings()
    key_path = Path(settings.cds_dev_key)
    try:
        issuer = devkey.load_or_create(key_path) if init else devkey.load(key_path)
    except FileNotFoundError:
        typer.echo(f"no development key at {key_path}: run `make demo` or `medqc token --init`", err=True)
        raise typer.Exit(2) from None
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if issuers:
        typer.echo(devkey.issuers_value(issuer, key_path))
        return
    audience = aud or "/".join(
        [settings.base_url.rstrip("/"), "cds-services", *([service] if service else [])]
    )
    typer.echo(issuer.token(audience, lifetime_s=lifetime))
