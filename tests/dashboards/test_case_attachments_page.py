"""The case page takes photos of the disposal (issue 19): a refused file is named next to the
upload, a photo is stored on the case through the service and shown as a thumbnail."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlmodel import Session, select

from dashboards.i18n import strings
from lims.files import attachments
from lims.models import EnforcementCase, Sample
from lims.models.enums import Role
from lims.security.auth import Actor
from lims.storage.engine import get_engine
from tests.dashboards.conftest import no_exception, run_page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_disposal_photo_is_uploaded_on_the_case_page(use_db, demo_code, lang):
    use_db("demo")
    with Session(get_engine()) as s:
        sample = s.exec(select(Sample).where(Sample.code == demo_code)).one()
        case_id = s.exec(select(EnforcementCase.id)
                         .where(EnforcementCase.sample_id == sample.id)).one()
    at = run_page("cases", role=Role.LAB_TECHNICIAN, lang=lang)
    at.selectbox(key="case_pick").set_value(case_id).run()
    no_exception(at)
    key = f"att_case_{case_id}"
    text = strings()
    save = f"{key}_save"
    # a file that only claims to be a photo
    at.file_uploader(key=f"{key}_files").set_value([("burnt.png", b"GIF89a fake", "image/png")])
    at.button(key=save).click().run()
    no_exception(at)
    assert any("burnt.png" in e.value and "not a PDF, PNG or JPEG" in e.value for e in at.error)

    buf = io.BytesIO()
    Image.new("RGB", (640, 480), "orange").save(buf, "JPEG")
    at.file_uploader(key=f"{key}_files").set_value([("destroyed.jpg", buf.getvalue(),
                                                     "image/jpeg")])
    at.button(key=save).click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert any(m.value == text["attach.saved"][lang].format(n=1) for m in at.success)
    with Session(get_engine()) as s:
        (att,) = attachments.list_for(s, Actor("t", Role.MANAGER), "case", case_id)
    assert att.name == "destroyed.jpg" and att.uploaded_by == "test-lab_technician"
    assert att.media_type == "image/jpeg"
    assert len(at.get("image")) == 1   # its thumbnail
    assert f"{key}_dl_{att.id}" in {b.key for b in at.get("download_button")}
