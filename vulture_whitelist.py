"""Names vulture (dead-code check in ``./dev lint``) cannot see used: framework hooks and overrides."""

# uvicorn calls these overrides of its protocol classes
send_400_response  # noqa: B018, F821
should_exit  # noqa: B018, F821  (uvicorn.Server attribute set to stop it)

# pytest calls plugin hooks and fixtures by name
pytest_configure  # noqa: B018, F821
sales_mock_app  # noqa: B018, F821
sales_clock  # noqa: B018, F821

SNAPSHOT_VERSION  # noqa: B018, F821
