from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator import (
    AllPartitionMapping,
    DailyPartitionsDefinition,
    DefinitionError,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MonthlyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    PartitionKeyRange,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)
from orchestrator.partitions import BackfillPolicy, contiguous_ranges

UTC = UTC


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC) if "+" not in s else \
        datetime.fromisoformat(s)


def test_static_keys_validation_and_ranges():
    colors = StaticPartitionsDefinition(["red", "green", "blue"])
    assert colors.get_partition_keys() == ["red", "green", "blue"]
    assert colors.has_partition_key("green") and not colors.has_partition_key("pink")
    assert colors.get_partition_keys_in_range(PartitionKeyRange("green", "blue")) == \
        ["green", "blue"]
    with pytest.raises(DefinitionError, match="'gren' is not a partition.*did you mean"):
        colors.validate_partition_key("gren")
    with pytest.raises(DefinitionError, match="duplicate keys"):
        StaticPartitionsDefinition(["a", "a"])
    with pytest.raises(DefinitionError, match="reserved character"):
        StaticPartitionsDefinition(["a|b"])
    with pytest.raises(DefinitionError, match="backwards"):
        colors.get_partition_keys_in_range(PartitionKeyRange("blue", "red"))


def test_daily_keys_only_for_finished_windows_and_end_offset():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    now = at("2024-01-04T13:00:00")
    assert daily.get_partition_keys(current_time=now) == ["2024-01-01", "2024-01-02",
                                                          "2024-01-03"]
    ahead = DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)
    assert ahead.get_partition_keys(current_time=now)[-1] == "2024-01-04"
    behind = DailyPartitionsDefinition(start_date="2024-01-01", end_offset=-1)
    assert behind.get_partition_keys(current_time=now)[-1] == "2024-01-02"
    ended = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-03")
    assert ended.get_partition_keys(current_time=now) == ["2024-01-01", "2024-01-02"]
    # exactly at midnight the day before is complete
    assert daily.get_last_partition_key(current_time=at("2024-01-05T00:00:00")) == "2024-01-04"
    assert daily.time_window_for("2024-01-02") == (at("2024-01-02T00:00:00"),
                                                   at("2024-01-03T00:00:00"))
    with pytest.raises(DefinitionError, match="not a partition"):
        daily.validate_partition_key("2023-12-31", current_time=now)


def test_timezone_windows_follow_daylight_saving():
    daily = DailyPartitionsDefinition(start_date="2024-03-30", timezone="Europe/Paris")
    start, end = daily.time_window_for("2024-03-31")  # the spring-forward day: 23 hours
    assert end.timestamp() - start.timestamp() == 23 * 3600
    assert start.utcoffset() == timedelta(hours=1) and end.utcoffset() == timedelta(hours=2)
    # a Paris day is finished at 22:00 UTC (summer time)
    assert daily.get_last_partition_key(current_time=at("2024-04-01T22:00:00")) == "2024-04-01"
    assert daily.get_last_partition_key(current_time=at("2024-04-01T21:59:00")) == "2024-03-31"


def test_hourly_weekly_monthly_and_cron_based():
    hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
    assert hourly.get_partition_keys(current_time=at("2024-01-01T03:30:00")) == [
        "2024-01-01-00:00", "2024-01-01-01:00", "2024-01-01-02:00"]
    weekly = WeeklyPartitionsDefinition(start_date="2024-01-01")  # weeks start on Sunday
    assert weekly.get_partition_keys(current_time=at("2024-01-22T00:00:00")) == [
        "2024-01-07", "2024-01-14"]
    monthly = MonthlyPartitionsDefinition(start_date="2024-01-01")
    assert monthly.get_partition_keys(current_time=at("2024-03-15T00:00:00")) == [
        "2024-01-01", "2024-02-01"]
    six = TimeWindowPartitionsDefinition(start="2024-01-01-00:00", fmt="%Y-%m-%d-%H:%M",
                                         cron_schedule="0 */6 * * *")
    assert six.get_partition_keys(current_time=at("2024-01-01T19:00:00")) == [
        "2024-01-01-00:00", "2024-01-01-06:00", "2024-01-01-12:00"]
    assert six.time_window_for_partition_key_range(
        PartitionKeyRange("2024-01-01-06:00", "2024-01-01-12:00")) == (
        at("2024-01-01T06:00:00"), at("2024-01-01T18:00:00"))
    with pytest.raises(DefinitionError, match="same key to different windows"):
        TimeWindowPartitionsDefinition(start="2024-01-01", fmt="%Y-%m-%d",
                                       cron_schedule="0 * * * *")
    with pytest.raises(DefinitionError, match="unknown timezone"):
        DailyPartitionsDefinition(start_date="2024-01-01", timezone="Mars/Olympus")
    with pytest.raises(DefinitionError, match="not valid"):
        TimeWindowPartitionsDefinition(start="2024-01-01", fmt="%Y", cron_schedule="0 0 40 * *")


def test_multi_partition_keys_are_joined_in_dimension_name_order():
    multi = MultiPartitionsDefinition({
        "date": DailyPartitionsDefinition(start_date="2024-01-01"),
        "color": StaticPartitionsDefinition(["red", "blue"])})
    keys = multi.get_partition_keys(current_time=at("2024-01-03T00:00:00"))
    assert [str(k) for k in keys] == ["red|2024-01-01", "red|2024-01-02", "blue|2024-01-01",
                                      "blue|2024-01-02"]
    assert keys[1].keys_by_dimension == {"color": "red", "date": "2024-01-02"}
    assert MultiPartitionKey({"date": "2024-01-02", "color": "red"}) == "red|2024-01-02"
    assert multi.has_partition_key("blue|2024-01-01", current_time=at("2024-01-03T00:00:00"))
    assert not multi.has_partition_key("2024-01-01|blue")
    assert multi.time_window_for("red|2024-01-02").start == at("2024-01-02T00:00:00")
    with pytest.raises(DefinitionError, match="exactly two"):
        MultiPartitionsDefinition({"a": StaticPartitionsDefinition(["x"])})


def test_partition_mappings():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
    now = at("2024-01-10T00:00:00")
    prev = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    assert prev.get_upstream_partition_keys(["2024-01-03"], daily, daily) == ["2024-01-02"]
    two = TimeWindowPartitionMapping(start_offset=-1)
    assert two.get_upstream_partition_keys(["2024-01-03"], daily, daily) == ["2024-01-02",
                                                                           "2024-01-03"]
    assert two.get_downstream_partition_keys(["2024-01-02"], daily, daily, now) == [
        "2024-01-02", "2024-01-03"]
    with pytest.raises(DefinitionError, match="before the upstream's first"):
        prev.get_upstream_partition_keys(["2024-01-01"], daily, daily)
    lenient = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1,
                                         allow_nonexistent_upstream_partitions=True)
    assert lenient.get_upstream_partition_keys(["2024-01-01"], daily, daily) == []
    # daily downstream of hourly: the 24 hours of the day
    hours = TimeWindowPartitionMapping().get_upstream_partition_keys(["2024-01-02"], daily,
                                                                     hourly)
    assert len(hours) == 24 and hours[0] == "2024-01-02-00:00" and hours[-1] == \
        "2024-01-02-23:00"
    colors = StaticPartitionsDefinition(["red", "blue"])
    assert IdentityPartitionMapping().get_upstream_partition_keys(["red"], colors, colors) == \
        ["red"]
    assert AllPartitionMapping().get_upstream_partition_keys(["x"], None, colors) == ["red",
                                                                                     "blue"]
    assert LastPartitionMapping().get_upstream_partition_keys(["x"], None, colors) == ["blue"]
    regions = StaticPartitionsDefinition(["eu-west", "eu-north", "us-east"])
    by_zone = StaticPartitionMapping({"eu-west": "eu", "eu-north": "eu", "us-east": "us"})
    zones = StaticPartitionsDefinition(["eu", "us"])
    assert by_zone.get_upstream_partition_keys(["eu"], zones, regions) == ["eu-west",
                                                                           "eu-north"]
    assert by_zone.get_downstream_partition_keys(["us-east"], regions, zones) == ["us"]
    with pytest.raises(DefinitionError, match="has no partition 'green'"):
        IdentityPartitionMapping().get_upstream_partition_keys(["green"], colors, colors)


def test_backfill_policy_and_contiguous_ranges():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    keys = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05", "2024-01-06"]
    assert contiguous_ranges(daily, keys) == [PartitionKeyRange("2024-01-01", "2024-01-03"),
                                              PartitionKeyRange("2024-01-05", "2024-01-06")]
    assert contiguous_ranges(daily, keys, 2)[0] == PartitionKeyRange("2024-01-01",
                                                                     "2024-01-02")
    assert BackfillPolicy.single_run().max_partitions_per_run is None
    assert BackfillPolicy.multi_run(3).max_partitions_per_run == 3
    with pytest.raises(DefinitionError, match="positive int"):
        BackfillPolicy.multi_run(0)


def test_repeated_autumn_hour_is_one_partition():
    hourly = HourlyPartitionsDefinition(start_date="2024-10-27-00:00", timezone="Europe/Paris")
    keys = hourly.get_partition_keys(current_time=at("2024-10-27T05:00:00"))
    assert keys == ["2024-10-27-00:00", "2024-10-27-01:00", "2024-10-27-02:00",
                    "2024-10-27-03:00", "2024-10-27-04:00", "2024-10-27-05:00"]
    window = hourly.time_window_for("2024-10-27-02:00")  # 02:00 happens twice: 2 hours
    assert window.end.timestamp() - window.start.timestamp() == 2 * 3600
    spring = HourlyPartitionsDefinition(start_date="2024-03-31-00:00", timezone="Europe/Paris")
    assert "2024-03-31-02:00" not in spring.get_partition_keys(
        current_time=at("2024-03-31T04:00:00"))  # 02:00 does not exist that day


@pytest.mark.parametrize("tz", ["Europe/Paris", "America/Sao_Paulo", "Australia/Lord_Howe",
                                "Asia/Kolkata"])
def test_fast_hourly_and_daily_keys_match_the_cron(tz):
    """Hourly/daily keys are made by arithmetic; they must equal the cron's ticks."""
    from orchestrator.partitions._cron import Cron

    def cron_keys(expr, start, n, fmt):
        c, t, out = Cron(expr, tz), start, [start.strftime(fmt)]
        while len(out) < n:
            t = c.next_after(t)
            if t.strftime(fmt) != out[-1]:
                out.append(t.strftime(fmt))
        return out

    now = at("2024-01-01T00:00:00")
    hourly = HourlyPartitionsDefinition(start_date="2022-01-01-00:00", timezone=tz)
    keys = hourly.get_partition_keys(current_time=now)
    assert keys == cron_keys("0 * * * *", hourly.start, len(keys), "%Y-%m-%d-%H:%M")
    daily = DailyPartitionsDefinition(start_date="2022-01-01", timezone=tz, hour_offset=2,
                                      minute_offset=30)
    dkeys = daily.get_partition_keys(current_time=now)
    assert dkeys == cron_keys("30 2 * * *", daily.start, len(dkeys), "%Y-%m-%d")
    c = Cron("30 2 * * *", tz)
    assert all(w.end == c.next_after(w.start) for w in map(daily.time_window_for, dkeys))
