"""Each kind of bad world file is a ScenarioError naming the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

from .sample import BASE, assert_points_at, edited, load_error, write


def error_for(tmp_path: Path, old: str, new: str) -> tuple[Path, str, object]:
    path = write(tmp_path, edited(old, new))
    error = load_error(path)
    return path, str(error), error


def test_a_missing_file_is_named_with_the_reason(tmp_path):
    """A path that does not exist is a ScenarioError naming it, not an OSError."""
    path = tmp_path / "absent.yaml"
    error = load_error(path)
    assert_points_at(error, path, None, "")
    assert "No such file" in str(error)


def test_a_directory_is_not_a_readable_world_file(tmp_path):
    """Pointing at a directory is a ScenarioError saying it is a directory, not an IsADirectoryError."""
    error = load_error(tmp_path)
    assert_points_at(error, tmp_path, None, "")
    assert "is a directory, not a regular file" in str(error)


def test_text_that_is_not_utf8_names_its_line(tmp_path):
    """Bytes that are not UTF-8 name the line they sit on."""
    path = tmp_path / "world.yaml"
    path.write_bytes(b"gsomia: 1\nname: \xff\n")
    assert_points_at(load_error(path), path, 2, "")


def test_an_empty_file_says_it_is_empty(tmp_path):
    """An empty file says so and what a world file starts with."""
    path = write(tmp_path, "")
    error = load_error(path)
    assert_points_at(error, path, None, "")
    assert "empty" in str(error)
    assert "gsomia: 1" in str(error)


def test_malformed_yaml_names_the_line_of_the_problem(tmp_path):
    """A flow list left open is a YAML syntax error at its line."""
    path = write(tmp_path, edited("parties: [KOR, JPN]", "parties: [KOR, JPN"))
    error = load_error(path)
    assert_points_at(error, path, 13, "")
    assert "not valid YAML" in str(error)
    assert "flow sequence that starts on line 12" in str(error)


def test_a_key_given_twice_names_its_second_line(tmp_path):
    """A duplicated key is an error at the duplicate, not a silent overwrite."""
    path = write(tmp_path, edited("    term: 1y\n", "    term: 1y\n    term: 2y\n"))
    error = load_error(path)
    assert_points_at(error, path, 15, "")
    assert "duplicate key" in str(error)
    assert '"term"' in str(error)


def test_a_top_level_list_is_not_a_world(tmp_path):
    """A file that is not a mapping says what it should be."""
    path = write(tmp_path, "- gsomia\n- 1\n")
    error = load_error(path)
    assert_points_at(error, path, 1, "")
    assert "got a list" in str(error)


def test_a_missing_version_asks_for_gsomia_1(tmp_path):
    """A world file without ``gsomia:`` says to start it with ``gsomia: 1``."""
    path = write(tmp_path, edited("gsomia: 1\n", "name: x\n"))
    error = load_error(path)
    assert_points_at(error, path, 1, "gsomia")
    assert "missing" in str(error)


def test_a_version_other_than_1_is_refused(tmp_path):
    """``gsomia: 2`` is a version this reader does not know."""
    path, message, error = error_for(tmp_path, "gsomia: 1", "gsomia: 2")
    assert_points_at(error, path, 1, "gsomia")
    assert "format version 2" in message


def test_an_unknown_top_level_key_suggests_the_near_one(tmp_path):
    """A misspelt section names itself and the key it was probably meant to be."""
    path, message, error = error_for(tmp_path, "items:", "item:")
    assert_points_at(error, path, 19, "item")
    assert "unknown key 'item'" in message
    assert "did you mean 'items'?" in message


def test_an_unknown_nested_key_names_its_own_line(tmp_path):
    """A misspelt key inside an agreement is named with its path and line."""
    path, message, error = error_for(tmp_path, "term: 1y", "terms: 1y")
    assert_points_at(error, path, 14, "agreements[0].terms")
    assert "did you mean 'term'?" in message


def test_an_unknown_key_in_a_flow_mapping_names_its_line(tmp_path):
    """A stray key inside ``{...}`` on a level line points at that line."""
    path, _, error = error_for(tmp_path, "{id: JP-HI, marking: HI}", "{id: JP-HI, marking: HI, rank: 1}")
    assert_points_at(error, path, 8, "parties[1].levels[0].rank")


def test_a_missing_required_key_points_at_its_entry(tmp_path):
    """An agreement without ``kind`` is reported at the agreement's first line."""
    path, message, error = error_for(tmp_path, "    kind: treaty\n", "")
    assert_points_at(error, path, 10, "agreements[0].kind")
    assert "missing" in message


def test_a_scalar_where_a_list_belongs_is_a_type_error(tmp_path):
    """``parties: KOR`` says a list was expected and shows how to write one."""
    path, message, error = error_for(tmp_path, "parties: [KOR, JPN]", "parties: KOR")
    assert_points_at(error, path, 12, "agreements[0].parties")
    assert "expected a list of party ids" in message
    assert "[KOR]" in message


def test_a_list_where_text_belongs_is_a_type_error(tmp_path):
    """A nested list among topics names the entry."""
    path, message, error = error_for(tmp_path, "topics: [naval]", "topics: [naval, [x]]")
    assert_points_at(error, path, 20, "items[0].topics[1]")
    assert "expected a topic as text, got a list" in message


def test_an_empty_marking_is_an_error(tmp_path):
    """A marking of empty text is named as empty."""
    path, message, error = error_for(tmp_path, "marking: II", "marking: ''")
    assert_points_at(error, path, 5, "parties[0].levels[0].marking")
    assert "empty" in message


def test_a_number_as_an_id_in_json_must_be_quoted(tmp_path):
    """JSON numbers are not ids: the error says to quote it."""
    path = write(tmp_path, '{"gsomia": 1,\n "parties": [\n  {"id": 5, "levels": []}]}\n', "world.json")
    error = load_error(path)
    assert_points_at(error, path, 3, "parties[0].id")
    assert "write it in quotes" in str(error)


def test_a_date_that_does_not_exist_names_the_key(tmp_path):
    """30 February is not a date, even though it has the right shape."""
    path, message, error = error_for(tmp_path, "2016-11-23", "2016-02-30")
    assert_points_at(error, path, 13, "agreements[0].entry_into_force")
    assert "YYYY-MM-DD" in message


def test_a_time_of_day_is_not_a_date(tmp_path):
    """Days are whole: a timestamp with a time is refused."""
    path, _, error = error_for(tmp_path, "date: 2019-08-23", "date: 2019-08-23T10:00:00")
    assert_points_at(error, path, 18, "events[0].date")


def test_a_duration_that_does_not_parse_names_the_key(tmp_path):
    """``1 year`` is not ``1y``: the error shows the accepted forms."""
    path, message, error = error_for(tmp_path, "term: 1y", "term: 1 year")
    assert_points_at(error, path, 14, "agreements[0].term")
    assert "like 1y, 6m or 90d" in message


def test_a_term_of_zero_length_is_an_error(tmp_path):
    """``term: 0y`` is refused with a way out: a positive term or none at all."""
    path, message, error = error_for(tmp_path, "term: 1y", "term: 0y")
    assert_points_at(error, path, 14, "agreements[0].term")
    assert message.endswith(
        "'0y' is a term of zero length; give a positive length like 1y, 6m or 90d, "
        "or leave term out for an indefinite agreement"
    )


def test_a_negative_notice_period_is_not_a_length(tmp_path):
    """A notice period may be 0d but never negative."""
    path, _, error = error_for(tmp_path, "term: 1y", "term: 1y\n    notice_period: -1d")
    assert_points_at(error, path, 15, "agreements[0].notice_period")


def test_an_unknown_agreement_kind_lists_the_kinds(tmp_path):
    """``kind: treatie`` suggests treaty and lists both kinds."""
    path, message, error = error_for(tmp_path, "kind: treaty", "kind: treatie")
    assert_points_at(error, path, 11, "agreements[0].kind")
    assert "did you mean treaty?" in message
    assert "treaty or arrangement" in message


def test_an_unknown_renewal_lists_the_choices(tmp_path):
    """``renewal: yes`` is neither automatic nor none."""
    path, message, error = error_for(tmp_path, "term: 1y", "term: 1y\n    renewal: yes")
    assert_points_at(error, path, 15, "agreements[0].renewal")
    assert "automatic or none" in message


def test_an_unknown_event_kind_lists_the_kinds(tmp_path):
    """``kind: notic`` on an event suggests notice."""
    path, message, error = error_for(tmp_path, "kind: notice", "kind: notic")
    assert_points_at(error, path, 18, "events[0].kind")
    assert "did you mean notice?" in message


def test_a_scope_that_is_neither_any_nor_a_list_is_an_error(tmp_path):
    """``scope: naval`` shows the list form."""
    path, message, error = error_for(tmp_path, "term: 1y", "scope: naval")
    assert_points_at(error, path, 14, "agreements[0].scope")
    assert "[naval]" in message


def test_an_equivalence_row_that_is_a_list_is_an_error(tmp_path):
    """A row must map parties to levels."""
    path, _, error = error_for(tmp_path, "{KOR: KR-II, JPN: JP-HI}", "[KR-II, JP-HI]")
    assert_points_at(error, path, 16, "agreements[0].equivalence[0]")


def test_an_equivalence_row_without_levels_for_a_party_is_an_error(tmp_path):
    """``JPN: []`` names no level for JPN."""
    path, _, error = error_for(tmp_path, "{KOR: KR-II, JPN: JP-HI}", "{KOR: KR-II, JPN: []}")
    assert_points_at(error, path, 16, "agreements[0].equivalence[0].JPN")


def test_scope_on_an_event_that_is_not_an_amend_is_an_error(tmp_path):
    """Only an amend may carry a scope."""
    path, message, error = error_for(tmp_path, "by: KOR}", "by: KOR, scope: any}")
    assert_points_at(error, path, 18, "events[0].scope")
    assert "only an amend" in message


def test_equivalence_on_an_event_that_is_not_an_amend_is_an_error(tmp_path):
    """Only an amend may carry an equivalence table."""
    path, _, error = error_for(tmp_path, "by: KOR}", "by: KOR, equivalence: []}")
    assert_points_at(error, path, 18, "events[0].equivalence")


def test_an_amend_with_neither_scope_nor_equivalence_is_an_error(tmp_path):
    """An amend must change something."""
    path, message, error = error_for(tmp_path, "kind: notice, by: KOR", "kind: amend")
    assert_points_at(error, path, 18, "events[0].kind")
    assert "an amend must give" in message


def test_a_consent_naming_an_item_and_a_topic_is_an_error(tmp_path):
    """A consent is for an item or for a topic, not both."""
    path, message, error = error_for(tmp_path, "{item: I1, holder", "{item: I1, topic: naval, holder")
    assert_points_at(error, path, 22, "consents[0].topic")
    assert "this consent (JPN to KOR) names both item 'I1' and topic 'naval'" in message


def test_a_consent_naming_neither_item_nor_topic_is_an_error(tmp_path):
    """A consent must say what it covers."""
    path, message, error = error_for(tmp_path, "{item: I1, holder", "{holder")
    assert_points_at(error, path, 22, "consents[0]")
    assert "names no item and no topic" in message


def test_a_topic_consent_without_its_originator_is_an_error(tmp_path):
    """A topic consent must name whose topic it is."""
    path, message, error = error_for(tmp_path, "{item: I1, holder", "{topic: naval, holder")
    assert_points_at(error, path, 22, "consents[0].topic")
    assert "no originator" in message


def test_a_consent_ending_before_it_starts_is_an_error(tmp_path):
    """``until`` before ``from`` is a consent valid on no day."""
    new = "recipient: KOR, from: 2020-01-01, until: 2019-01-01}"
    path, _, error = error_for(tmp_path, "recipient: KOR}", new)
    assert_points_at(error, path, 22, "consents[0].until")


def test_the_base_world_used_by_these_tests_is_valid(tmp_path):
    """The unedited sample loads, so each error above comes from its one edit."""
    from gsomia.scenario import load_spec

    assert load_spec(write(tmp_path, BASE)).agreements[0].id == "KJ"
