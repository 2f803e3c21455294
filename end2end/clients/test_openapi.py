"""The Admin API's OpenAPI document passes an independent OpenAPI 3 validator."""

import json
import urllib.request

from openapi_spec_validator import validate


def test_openapi_document_is_valid_openapi_3(admin_url):
    with urllib.request.urlopen(admin_url + "/openapi.json") as response:
        document = json.load(response)
    validate(document)
    assert "/services/{services}/routes" in document["paths"]
    assert document["info"]["title"] == "Gatehouse Admin API"
