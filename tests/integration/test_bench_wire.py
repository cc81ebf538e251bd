"""The paywall benchmark's other encodings and the gate run end to end against real servers
(targets are reported, never asserted: timing belongs to benchmarks, not to tests)."""

from obolo.entrypoints.bench.wire_bench import markdown, measure_wire


def test_bench_wire_pays_through_every_encoding_and_the_gate_and_writes_its_rows():
    """A tiny run pays every request (x402, IETF, through the gate; a refusal would raise) and
    writes one row per path, each with its target."""
    figure = measure_wire(requests=5, rounds=1)
    assert min(figure.x402_per_second, figure.ietf_per_second, figure.gate_paid_per_second) > 0
    rows = [line for line in markdown(figure) if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[0] for row in rows] == [
        "| x402 `PAYMENT-SIGNATURE`",
        "| IETF `Authorization: Payment`",
        "| `obolo gate`",
    ]
    assert all(">= 0." in row for row in rows)
