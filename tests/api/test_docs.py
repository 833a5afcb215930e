"""``/docs`` and ``/redoc`` work on a machine with no network: every asset they load is served
by the API itself."""

from __future__ import annotations

import re

import httpx
import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_api_docs_load_only_assets_the_api_serves(
    anonymous: httpx.AsyncClient, page: str
) -> None:
    response = await anonymous.get(page)

    assert response.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", response.text)
    assert assets, response.text
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
        served = await anonymous.get(asset)
        assert served.status_code == 200, asset
        assert served.content, asset
    assert "https://" not in response.text.replace("https://fastapi", "")
