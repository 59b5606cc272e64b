"""A reserved alias name can be neither protected nor requested (issues 30 and 33 together)."""

from __future__ import annotations

import pytest

from opsml.errors import InvalidInputError
from opsml.schemas_approvals import ApprovalCreate, protected_set


def test_a_reserved_name_in_the_protected_list_is_a_configuration_error() -> None:
    with pytest.raises(InvalidInputError, match="'latest' is a reserved alias name"):
        protected_set("champion,latest")


def test_a_request_for_a_reserved_name_is_refused() -> None:
    with pytest.raises(ValueError, match="'true' is a reserved alias name"):
        ApprovalCreate(uid="0" * 32, alias="true", reason="r")
