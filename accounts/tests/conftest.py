import pytest

from accounts.tests.fake_google import GoogleSigningKey


def pytest_configure(config):
    # pytest-xdist registers this marker only when it is loaded; with `-p no:xdist`
    # and --strict-markers the browser test module would not even be collected.
    config.addinivalue_line("markers", "xdist_group(name): run in the named xdist group")


@pytest.fixture(scope="session")
def google_key() -> GoogleSigningKey:
    return GoogleSigningKey()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can see a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def story_page(request, page, live_server):
    """Playwright's page on the live server; screenshot to test-artifacts/ if the story fails."""
    page.set_default_timeout(10_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        artifacts = request.config.rootpath / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / f"{request.node.name}.png"), full_page=True)
