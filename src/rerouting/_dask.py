"""The Dask engine: the raw-records half of a scan on a ``dask.distributed`` cluster.

Dask schedules the tasks and moves their small results; polars does the work
inside every task, on one partition of the records (``docs/scale-out.md``):

1. **Survey** (one task per group of leading HS digits): reporting table, distinct
   codes, pair-month totals of the scanned products, rows per HS chapter.
2. **Gather** on the client: frequency and windows, the HS mapping (one target
   vintage for all codes), reporter reliability from the summed pair-month totals.
3. **Legs** (one task per group of chapters that HS revisions link): the same
   :func:`rerouting._legs.product_legs` as the polars engine, with the gathered
   mapping and reliability.
4. **Combine** on the client: flows and totals concatenate, other-product sums add.

Each task reads its partition itself from the (lazy) input, so workers need the
input paths; only the plan, the mapping and the reliability table are sent.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any, Final

import polars as pl
from distributed import Client, KilledWorker, LocalCluster, as_completed

from rerouting._exceptions import ConfigError, ReroutingError
from rerouting._legs import (
    _CODE_KEYS,
    LegPlan,
    LegSet,
    PeriodGrid,
    _code_mapping,
    _distinct_codes,
    _pair_month_totals,
    _reporting,
    combine_other_sides,
    finish_legs,
    leg_plan,
    other_label,
    period_grid,
    product_legs,
)
from rerouting._mirror import reporter_reliability

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from distributed import Future

    from rerouting._config import Scenario

__all__ = ["DaskEngine", "chapter_partitions"]

_DIGITS: Final = tuple("0123456789")


def _chapter() -> pl.Expr:
    return pl.col("hs").str.slice(0, 2)


def _digit_groups(n: int) -> list[pl.Expr]:
    """Predicates on the first HS digit that put every record in exactly one group.

    The last group takes whatever the others do not (other characters, null codes).
    """
    n = max(1, min(n, len(_DIGITS)))
    groups = [list(_DIGITS[i::n]) for i in range(n)]
    first = pl.col("hs").str.slice(0, 1)
    taken = [d for g in groups[:-1] for d in g]
    preds = [first.is_in(g) for g in groups[:-1]]
    preds.append(~first.is_in(taken).fill_null(False))
    return preds


def _chapter_filter(chapters: Sequence[str | None]) -> pl.Expr:
    named = [c for c in chapters if c is not None]
    pred = _chapter().is_in(named).fill_null(False)
    return pred | _chapter().is_null() if None in chapters else pred


def chapter_partitions(rows: pl.DataFrame, mapping: pl.DataFrame, n: int) -> list[list[str | None]]:
    """Chapters grouped so that codes an HS revision links share a partition.

    ``rows``: ``chapter, len`` (records per raw chapter); ``mapping``: raw ``hs`` →
    harmonised ``_hs6``. Chapters linked by any mapping row are merged (union-find),
    then the merged groups are packed into at most ``n`` partitions, largest first,
    each into the partition with the fewest records so far.
    """
    parent: dict[str | None, str | None] = {c: c for c in rows["chapter"]}

    def find(c: str | None) -> str | None:
        parent.setdefault(c, c)
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    links = mapping.select(
        pl.col("hs").str.slice(0, 2).alias("a"), pl.col("_hs6").str.slice(0, 2).alias("b")
    ).unique()
    for a, b in links.iter_rows():
        if b is not None:
            parent[find(a)] = find(b)
    size: dict[str | None, int] = {}
    members: dict[str | None, list[str | None]] = {}
    for chapter, count in rows.select("chapter", "len").iter_rows():
        root = find(chapter)
        size[root] = size.get(root, 0) + count
        members.setdefault(root, []).append(chapter)
    bins: list[tuple[int, list[str | None]]] = []
    # Sorted by size then by smallest chapter: the same partitions whatever the order.
    for root in sorted(size, key=lambda r: (-size[r], str(members[r]))):
        group = sorted(members[root], key=lambda c: (c is None, c or ""))
        if len(bins) < max(1, n):
            bins.append((size[root], group))
        else:
            i = min(range(len(bins)), key=lambda k: bins[k][0])
            bins[i] = (bins[i][0] + size[root], bins[i][1] + group)
    return [g for _, g in bins]


# ------------------------------------------------------------------ tasks (on workers)
def _survey(
    trade: pl.LazyFrame, pred: pl.Expr, plan: LegPlan
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Phase 1 on one partition: every result is a partial that combines by union or sum."""
    part = trade.filter(pred)
    near = plan.near_filter()
    scanned = plan.scanned(part if near is None else part.filter(near))
    return (
        _reporting(part),
        _distinct_codes(scanned, "frequency"),
        _pair_month_totals(scanned),
        part.group_by(_chapter().alias("chapter")).len().collect(engine="streaming"),
    )


def _legs(
    trade: pl.LazyFrame,
    pred: pl.Expr,
    plan: LegPlan,
    grid: PeriodGrid,
    mapping: pl.DataFrame,
    target: str,
    reliability: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """Phase 3 on one partition: :func:`rerouting._legs.product_legs`."""
    return product_legs(
        grid.base(trade.filter(pred), plan), plan, grid, mapping, target, reliability
    )


# ------------------------------------------------------------------ the engine
class DaskEngine:
    """Builds the legs on a Dask cluster, polars inside every task.

    Args:
        client: A connected ``distributed.Client`` (left open).
        scheduler: Address of a running scheduler (``tcp://host:8786``).
        workers: Without ``client`` or ``scheduler``: start a ``LocalCluster`` of
            this many worker processes (one thread each) for the scan. Default 2.
        partitions: Partitions per phase (default: twice the number of workers).
        memory_limit: Memory per local worker (``"4GB"``); default Dask's share.
        progress: ``progress(phase, done, total)``, called as partitions finish;
            ``phase`` is ``"survey"`` or ``"legs"``.
        on_dashboard: Called with the dashboard address once connected.

    Workers read the input themselves: paths in the lazy input must be valid on
    every worker (shared storage). An in-memory frame is sent once to each worker.

    Example:
        ``rr.scan(trade, origin="BLR", destination="EU", event="2022-03",
        engine=DaskEngine(workers=2))``
    """

    def __init__(
        self,
        client: Client | None = None,
        *,
        scheduler: str | None = None,
        workers: int | None = None,
        partitions: int | None = None,
        memory_limit: str | None = None,
        progress: Callable[[str, int, int], None] | None = None,
        on_dashboard: Callable[[str], None] | None = None,
    ) -> None:
        if client is not None and scheduler is not None:
            raise ConfigError(
                "give a Dask client or a scheduler address, not both",
                column="scheduler",
                value=scheduler,
                hint="DaskEngine(client) or DaskEngine(scheduler='tcp://host:8786')",
            )
        for name, number in (("workers", workers), ("partitions", partitions)):
            if number is not None and number < 1:
                raise ConfigError(
                    f"{name} must be at least 1", column=name, value=number, hint=f"{name}=2"
                )
        self.client = client
        self.scheduler = scheduler
        self.workers = workers
        self.partitions = partitions
        self.memory_limit = memory_limit
        self.progress = progress
        self.on_dashboard = on_dashboard

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Client]:
        if self.client is not None:
            yield self.client
            return
        if self.scheduler is not None:
            try:
                client = Client(self.scheduler, timeout="20s")
            except OSError as err:
                raise ConfigError(
                    f"cannot reach the Dask scheduler: {err}",
                    column="scheduler",
                    value=self.scheduler,
                    hint="start one with `dask scheduler` and workers with "
                    "`dask worker ADDRESS`, or use --workers N for a local cluster",
                ) from err
            with client:
                yield client
            return
        with (
            LocalCluster(
                n_workers=self.workers or 2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                memory_limit=self.memory_limit or "auto",
                # errors reach the caller as exceptions; shutdown chatter is not news
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client

    def build(self, trade: pl.LazyFrame, scenario: Scenario) -> LegSet:
        with self._connect() as client:
            # the dashboard runs only when bokeh is installed
            if self.on_dashboard is not None and "dashboard" in client.scheduler_info().get(
                "services", {}
            ):
                self.on_dashboard(client.dashboard_link)
            return self._build(client, trade, scenario)

    def _build(self, client: Client, trade: pl.LazyFrame, scenario: Scenario) -> LegSet:
        n = self.partitions or 2 * max(1, len(client.scheduler_info()["workers"]))
        plan = leg_plan(scenario)
        # Replicated on every worker: a killed worker's copy is not the only one.
        [data] = client.scatter([trade], broadcast=True, hash=False)

        # 1. Survey, then 2. gather on the client.
        surveys = self._run(
            client,
            "survey",
            [client.submit(_survey, data, p, plan, pure=False) for p in _digit_groups(n)],
        )
        reports = (
            pl.concat([s[0] for s in surveys])
            .group_by("frequency", "reporter", "period")
            .agg(pl.col("exp").any(), pl.col("imp").any())
        )
        grid = period_grid(reports, scenario)
        codes = (
            pl.concat([s[1] for s in surveys])
            .filter(grid.rows())
            .select(_CODE_KEYS)
            .unique()
            .sort(_CODE_KEYS, nulls_last=True)
        )
        mapping, summary = _code_mapping(codes)
        pairs = pl.concat([s[2] for s in surveys]).filter(grid.rows())
        keys = [c for c in pairs.columns if c not in ("value", "hs")]
        pairs = pairs.group_by(keys).agg(pl.col("value").sum()).with_columns(hs=pl.lit("000000"))
        reliability = reporter_reliability(pairs, cif_fob_margin=plan.margin)
        chapters = pl.concat([s[3] for s in surveys]).group_by("chapter").agg(pl.col("len").sum())

        # 3. Legs per group of linked chapters.
        [mapping_f, reliability_f] = client.scatter(
            [mapping, reliability], broadcast=True, hash=False
        )
        parts = self._run(
            client,
            "legs",
            [
                client.submit(
                    _legs,
                    data,
                    _chapter_filter(group),
                    plan,
                    grid,
                    mapping_f,
                    summary.target,
                    reliability_f,
                    pure=False,
                )
                for group in chapter_partitions(chapters, mapping, n)
            ],
        )
        # 4. Combine: sorted, so the result does not depend on the partition order.
        flows = pl.concat([p[0] for p in parts]).sort("src", "dst", "hs", "period")
        totals = pl.concat([p[1] for p in parts]).sort("country", "hs")
        sides = [p[2] for p in parts if p[2] is not None]
        other = combine_other_sides(sides) if plan.products is not None else None
        return finish_legs(plan, grid, summary, flows, totals, other_label(other, plan.sides))

    def _run(self, client: Client, phase: str, futures: list[Future[Any]]) -> list[Any]:
        """Results in submission order; the rest is cancelled if one fails."""
        index = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(futures)
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                try:
                    out[index[future.key]] = future.result()
                except KilledWorker as err:
                    raise ReroutingError(
                        f"the {phase} partition {index[future.key] + 1} of {len(futures)} "
                        "killed every Dask worker that ran it",
                        value=str(err),
                        hint="workers probably ran out of memory: give them more "
                        "(dask worker --memory-limit) or use more partitions",
                    ) from err
                future.release()
                if self.progress is not None:
                    self.progress(phase, done, len(futures))
        finally:
            client.cancel([f for f in futures if not f.done()])
        return out
