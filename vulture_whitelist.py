"""Names vulture (dead-code check in ``./dev lint``) cannot see used: framework hooks and overrides."""

# uvicorn calls these overrides of its protocol classes
send_400_response  # noqa: B018, F821
should_exit  # noqa: B018, F821  (uvicorn.Server attribute set to stop it)
disconnected  # noqa: B018, F821  (uvicorn's request cycle attribute: http_protocol sets it on a late body)

# pytest calls plugin hooks and fixtures by name (mock_server.pytest_plugin, the contract suite's
# conftest and its campaign plugin)
pytest_configure  # noqa: B018, F821
pytest_addoption  # noqa: B018, F821
pytest_unconfigure  # noqa: B018, F821
pytest_sessionstart  # noqa: B018, F821
pytest_generate_tests  # noqa: B018, F821
pytest_collection_modifyitems  # noqa: B018, F821
pytest_runtest_setup  # noqa: B018, F821
pytest_runtest_makereport  # noqa: B018, F821
pytest_terminal_summary  # noqa: B018, F821
pytest_sessionfinish  # noqa: B018, F821
pytest_collection_finish  # noqa: B018, F821
_sales_needs  # noqa: B018, F821  (an autouse fixture of the contract suite's conftest)
sales_mock_app  # noqa: B018, F821
sales_clock  # noqa: B018, F821
mock_process_url  # noqa: B018, F821  (requested with request.getfixturevalue)
writable  # noqa: B018, F821  (requested with pytest.mark.usefixtures("writable"))
pytestmark  # noqa: B018, F821  (module marks pytest reads)
_id  # noqa: B018, F821  (pytest >= 9.2 reads Node._id; contract_tests/suite/compat.py sets it)

# Schemathesis calls the state machine's before_call hook (contract_tests/suite/test_stateful.py)
before_call  # noqa: B018, F821

# Hypothesis runs @rule/@invariant methods of a RuleBasedStateMachine (contract_tests/suite/test_model.py)
# and reads _hypothesis_internal_add_digest as a test's database key (contract_tests/campaign/exampledb.py)
change_status  # noqa: B018, F821
edit_notes  # noqa: B018, F821
server_matches_model  # noqa: B018, F821
_hypothesis_internal_add_digest  # noqa: B018, F821

# httptools' response parser calls these on its protocol object (contract_tests/proxy/upstream.py)
on_header  # noqa: B018, F821
on_headers_complete  # noqa: B018, F821
on_body  # noqa: B018, F821
on_message_begin  # noqa: B018, F821
on_chunk_header  # noqa: B018, F821
on_message_complete  # noqa: B018, F821

SNAPSHOT_VERSION  # noqa: B018, F821
