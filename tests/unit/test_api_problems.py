"""Problems keep their standard members whatever data an error carries."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from obolo.entrypoints.api import errors
from obolo.sms.errors import CannotUndo


def test_an_errors_own_status_does_not_become_the_http_status():
    app = FastAPI()
    errors.install(app)

    @app.get("/undo")
    def undo() -> None:
        raise CannotUndo("already settled", ref="ABC123", status="returned", title="x")

    answer = TestClient(app).get("/undo")
    body = answer.json()
    assert answer.status_code == body["status"] == errors.STATUS_BY_CODE.get("sms_cannot_undo", 400)
    assert (body["code"], body["detail"]) == ("sms_cannot_undo", "already settled")
    assert (body["status_"], body["title_"], body["ref"]) == ("returned", "x", "ABC123")
