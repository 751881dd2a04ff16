#!/usr/bin/env python3
"""Moves each engine constant 2-4x either way, rebuilds, and reruns `sheepdog eval` (overall F1 and false
alarms/day of causal `auto` on the shared dev set) and `go test ./pkg/engine` (the synthetic failure modes each
variant breaks). Prints the rows of the robustness table in docs/engine.md. It edits the source in place and puts
every file back, so run it on a clean tree: `python3 bench/constants.py` (a few minutes)."""
import os, re, subprocess, sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
if subprocess.run(["git", "diff", "--quiet", "--", "pkg/engine"]).returncode != 0:
    sys.exit("pkg/engine has uncommitted changes: commit or stash them first")
cases=[
 ('exitFrac (0.5)','pkg/engine/stream.go','const exitFrac = 0.5',[('0.25','const exitFrac = 0.25'),('1 (no hysteresis)','const exitFrac = 1.0')]),
 ('same-phase window (±1 % of the period)','pkg/engine/period.go','w := max(int64(1), p/100/h.width)',[('±0.25 %','w := max(int64(1), p/400/h.width)'),('±4 %','w := max(int64(1), p/25/h.width)')]),
 ('fewCyclesMargin (0.5: strength ≥ 0.8 with two cycles)','pkg/engine/period.go','fewCyclesMargin = 0.5',[('0.25','fewCyclesMargin = 0.25'),('0.65','fewCyclesMargin = 0.65')]),
 ('relScaleMin (1e-4 of the level)','pkg/engine/model.go','relScaleMin  = 1e-4',[('2.5e-5','relScaleMin  = 2.5e-5'),('4e-4','relScaleMin  = 4e-4')]),
 ('holdSteps (60)','pkg/engine/stream.go','const holdSteps = 60',[('30','const holdSteps = 30'),('120','const holdSteps = 120')]),
 ('sustainRun (20)','pkg/engine/stream.go','const sustainRun = 20',[('10','const sustainRun = 10'),('40','const sustainRun = 40')]),
 ('tailPrior (1000 Gaussian pseudo-points)','pkg/engine/calib.go','tailPrior   = 1000.0',[('250','tailPrior   = 250.0'),('4000','tailPrior   = 4000.0')]),
 ('maxSpikeLen (10)','pkg/engine/calib.go','maxSpikeLen = 10 ',[('5','maxSpikeLen = 5 '),('20','maxSpikeLen = 20 ')]),
 ('eventsFree (3)','pkg/engine/calib.go','eventsFree  = 3.0',[('1.5','eventsFree  = 1.5'),('6','eventsFree  = 6.0')]),
 ('tailMemory (four weeks at most)','pkg/engine/calib.go','tailMemory  = 28 * 86400e3',[('two weeks','tailMemory  = 14 * 86400e3'),('eight weeks','tailMemory  = 56 * 86400e3')]),
 ('heavyPrior (9 pseudo-spikes)','pkg/engine/calib.go','heavyPrior  = 3 * eventsFree',[('4.5','heavyPrior  = 4.5'),('18','heavyPrior  = 18.0')]),
 ('heavyDoF (4)','pkg/engine/calib.go','heavyDoF    = 4.0',[('2','heavyDoF    = 2.0'),('8','heavyDoF    = 8.0')]),
 ('heavyEngage (6 spikes of ≥ 4 SDs after the first)','pkg/engine/calib.go','heavyEngage = 6.0',[('3','heavyEngage = 3.0'),('12','heavyEngage = 12.0')]),
 ('heavyFadeMs (a week)','pkg/engine/calib.go','heavyFadeMs = 7 * 86400e3',[('3.5 days','heavyFadeMs = 3.5 * 86400e3'),('two weeks','heavyFadeMs = 14 * 86400e3')]),
 ('routineRate (half a day)','pkg/engine/calib.go','routineRate = 0.5 ',[('an eighth','routineRate = 0.125 '),('one','routineRate = 1.0 ')]),
 ('youngSpan (two days)','pkg/engine/stream.go','const youngSpan = 48 * time.Hour',[('one day','const youngSpan = 24 * time.Hour'),('four days','const youngSpan = 96 * time.Hour')]),
 ('incidentSpan (an hour)','pkg/engine/stream.go','const incidentSpan = time.Hour',[('30 minutes','const incidentSpan = 30 * time.Minute'),('four hours','const incidentSpan = 4 * time.Hour')]),
]
BIN = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'sheepdog-constants')

def tests():
    out=subprocess.run(['go','test','-count=1','./pkg/engine'],capture_output=True,text=True).stdout
    return ','.join(sorted(set(re.findall(r'--- FAIL: (\w+)',out)))) or 'ok'
def ev():
    subprocess.run(['go','build','-o',BIN,'./cmd/sheepdog'],check=True)
    out=subprocess.run([BIN,'eval'],capture_output=True,text=True).stdout
    m=re.search(r'^\| overall \| auto \| \d+ \| \d+ \| (\d+) \| (\d+) \| [\d.]+ \| [\d.]+ \| \*\*([\d.]+)\*\* \| ([\d.]+) \|',out,re.M)
    return m.group(3),m.group(4),m.group(1),m.group(2)
print('base',ev(),tests())
rows=[]
for name,path,orig,vars_ in cases:
    src=open(path).read()
    assert orig in src,(name,orig)
    res=[]
    for label,rep in vars_:
        open(path,'w').write(src.replace(orig,rep,1))
        try: res.append((label,)+ev()+(tests(),))
        finally: open(path,'w').write(src)
    first, rest = name.split(" ", 1)
    label = f"`{first}` {rest}" if first.isidentifier() else name
    print(f'| {label} | {res[0][0]} | {res[0][1]} | {res[0][2]} | {res[1][0]} | {res[1][1]} | {res[1][2]} | {res[0][5]} / {res[1][5]}', flush=True)
