import pytest

from accounts.tests.fake_google import GoogleSigningKey


@pytest.fixture(scope="session")
def google_key() -> GoogleSigningKey:
    return GoogleSigningKey()


@pytest.fixture
def story_page(request, browser, live_server):
    """A fresh page on the live server; screenshot to test-artifacts/ if the story fails."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        artifacts = request.config.rootpath / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / f"{request.node.name}.png"), full_page=True)
