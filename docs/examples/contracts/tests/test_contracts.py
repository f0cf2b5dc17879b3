from tricoma_mail_plugin import Reference, compose_context


def test_the_contract_page_has_the_send_button_and_the_history(user_client):
    page = user_client.get("/contracts/7").get_data(as_text=True)
    assert 'href="/mail/compose/app/?reference=contract:7&amp;next=/contracts/7"' in page
    assert "<h2>Mail history</h2>" in page and "not sent yet" in page


def test_the_dialog_is_filled_in_from_the_contract(app, user):
    with app.app_context():
        context = compose_context(Reference("contract", "7"), user)
    assert context.to == ("erika@example.test",) and context.subject == "Your contract C-2026-007"
    assert [attachment.filename for attachment in context.attachments] == ["C-2026-007.txt"]


def test_an_unknown_contract_is_not_found(user_client):
    assert user_client.get("/contracts/8").status_code == 404
