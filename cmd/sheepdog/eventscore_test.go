package main

import (
	"math"
	"testing"
)

func TestEventScore(t *testing.T) {
	// 1,000 one-minute points, anomalies labelled at points 300..309 and 700.
	times := make([]int64, 1000)
	for i := range times {
		times[i] = int64(i) * 60
	}
	labelled := []span{{times[300], times[309]}, {times[700], times[700]}}
	ws := scoringWindows(times, labelled)
	if len(ws) != 2 {
		t.Fatalf("scoring windows %v, want 2", ws)
	}
	// Each window covers windowShare/2 of the series, centred on its span.
	for _, w := range ws {
		if got, want := float64(w.End-w.Start), windowShare*float64(times[999])/2; math.Abs(got-want) > 60 {
			t.Fatalf("window %v length %v, want %v", w, got, want)
		}
	}
	flagsAt := func(idx ...int) []bool {
		f := make([]bool, len(times))
		for _, i := range idx {
			f[i] = true
		}
		return f
	}
	indexOf := func(ts int64) int { return int((ts + 59) / 60) } // first point at or after ts
	score := func(f []bool) [3]float64 {
		es := scoreEvents(times, f, labelled)
		return [3]float64{es.normalised(0), es.normalised(1), es.normalised(2)}
	}

	never := score(flagsAt())
	perfect := score(flagsAt(indexOf(ws[0].Start), indexOf(ws[1].Start)))
	early := score(flagsAt(300, 700))
	late := score(flagsAt(indexOf(ws[0].End)-1, indexOf(ws[1].End)-1))
	oneMissed := score(flagsAt(300))
	earlyPlusFalse := score(flagsAt(300, 700, 10, 11, 12, 950))
	falseOnly := score(flagsAt(10, 500, 950))

	for p := range eventProfiles {
		name := eventProfiles[p].Name
		if never[p] != 0 {
			t.Errorf("%s: never firing scores %v, want 0", name, never[p])
		}
		if perfect[p] < 99.9 || perfect[p] > 100 {
			t.Errorf("%s: detection at each window's first point scores %v, want ≈100", name, perfect[p])
		}
		if !(late[p] < early[p] && early[p] < perfect[p]) {
			t.Errorf("%s: want late %v < early %v < perfect %v", name, late[p], early[p], perfect[p])
		}
		if !(oneMissed[p] < early[p] && oneMissed[p] > 0) {
			t.Errorf("%s: one window missed scores %v, want between 0 and %v", name, oneMissed[p], early[p])
		}
		if !(earlyPlusFalse[p] < early[p]) {
			t.Errorf("%s: false events must cost: %v with, %v without", name, earlyPlusFalse[p], early[p])
		}
		if !(falseOnly[p] < 0) {
			t.Errorf("%s: only false events scores %v, want below 0", name, falseOnly[p])
		}
	}
	// The profiles weigh differently: low FP punishes false events harder,
	// low FN punishes a miss harder.
	if !(earlyPlusFalse[1] < earlyPlusFalse[0]) {
		t.Errorf("low FP profile %v should punish false events more than standard %v", earlyPlusFalse[1], earlyPlusFalse[0])
	}
	if missed := scoreEvents(times, flagsAt(300), labelled); !(missed.Raw[2] < missed.Raw[0]) {
		t.Errorf("low FN profile %v should charge a miss more than standard %v", missed.Raw[2], missed.Raw[0])
	}
	// Three false events in a row are one event, not three.
	if a, b := score(flagsAt(300, 700, 10)), score(flagsAt(300, 700, 10, 11, 12)); a != b {
		t.Errorf("a run of flags should cost once: %v vs %v", a, b)
	}
}

func TestScoringWindowsMerge(t *testing.T) {
	times := []int64{0, 100}
	ws := scoringWindows(times, []span{{40, 40}, {42, 42}})
	if len(ws) != 1 || ws[0].Start > 40 || ws[0].End < 42 {
		t.Fatalf("overlapping windows should merge into one covering both: %v", ws)
	}
}
