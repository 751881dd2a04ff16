/*
 * Turns the backend's anomaly-window frames into annotation events.
 *
 * The frame (pkg/frames.Windows, output "windows") is named "anomalies", has meta.dataTopic "annotations" and
 * the fields time (window start), timeEnd, title, text, tags (a JSON string array per window; older backends sent
 * a comma-separated string, still read), score, severity, isRegion and color (the severity's colour). Frames
 * that carry neither that topic nor a timeEnd field are series, not windows, and are skipped.
 */
import { AnnotationEvent, DataFrame, Field, FieldType } from '@grafana/data';

const byName = (frame: DataFrame, ...names: string[]): Field | undefined => {
  for (const n of names) {
    const f = frame.fields.find((x) => x.name.toLowerCase() === n.toLowerCase());
    if (f) {
      return f;
    }
  }
  return undefined;
};

/** True for a frame that holds anomaly windows rather than a time series. */
export function isWindowFrame(frame: DataFrame): boolean {
  const topic = (frame.meta as { dataTopic?: string } | undefined)?.dataTopic;
  return topic === 'annotations' || !!byName(frame, 'timeEnd', 'end');
}

function toMillis(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) {
    return v;
  }
  if (v instanceof Date) {
    return v.getTime();
  }
  if (typeof v === 'string' && v !== '') {
    const n = Date.parse(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function toTags(v: unknown): string[] {
  if (Array.isArray(v)) {
    return v.map(String).filter(Boolean);
  }
  if (typeof v === 'string' && v.trim().startsWith('[')) {
    // A JSON field that reached us unparsed.
    try {
      return toTags(JSON.parse(v));
    } catch {
      // Not JSON after all: read it as a comma-separated list below.
    }
  }
  if (typeof v === 'string' && v.trim() !== '') {
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  return [];
}

/** Converts window frames to region annotations; other frames are skipped. */
export function framesToEvents(frames: DataFrame[]): AnnotationEvent[] {
  const events: AnnotationEvent[] = [];
  for (const frame of frames) {
    if (!isWindowFrame(frame)) {
      continue;
    }
    const time = byName(frame, 'time', 'start') ?? frame.fields.find((f) => f.type === FieldType.time);
    if (!time) {
      continue;
    }
    const end = byName(frame, 'timeEnd', 'end');
    const text = byName(frame, 'text', 'description');
    const title = byName(frame, 'title');
    const tags = byName(frame, 'tags');
    const score = byName(frame, 'score', 'maxScore', 'max_score');
    const series = byName(frame, 'series', 'name', 'metric');
    const direction = byName(frame, 'direction');
    const region = byName(frame, 'isRegion');
    const color = byName(frame, 'color');
    for (let i = 0; i < time.values.length; i++) {
      const start = toMillis(time.values[i]);
      if (start === undefined) {
        continue;
      }
      const stop = end ? toMillis(end.values[i]) : undefined;
      const s = score?.values[i];
      const who = series?.values[i] ?? frame.name;
      const scoreText = typeof s === 'number' && Number.isFinite(s) ? `score ${s.toFixed(2)}` : undefined;
      const given = text?.values[i];
      const description =
        typeof given === 'string' && given !== ''
          ? given
          : [`Anomaly${who ? ` in ${who}` : ''}`, scoreText].filter(Boolean).join(', ');
      const frameTags = [...toTags(tags?.values[i]), ...toTags(direction?.values[i])];
      const spans = stop !== undefined && stop > start;
      const ev: AnnotationEvent = {
        time: start,
        timeEnd: spans ? stop : start,
        // The backend marks regions itself (isRegion); a window without an end is a point whatever it says.
        isRegion: spans && (region ? region.values[i] !== false : true),
        title: title?.values[i] ?? 'Sheepdog anomaly',
        text: description,
        tags: frameTags.length ? Array.from(new Set(frameTags)) : ['sheepdog', 'anomaly'],
      };
      const c = color?.values[i];
      if (typeof c === 'string' && c !== '') {
        // The severity colour. Grafana's dashboard annotation runner recolours query results with the
        // annotation's iconColor (public/app/features/query/state/DashboardQueryRunner/utils.ts,
        // translateQueryResult); hosts that do not keep this one.
        ev.color = c;
      }
      events.push(ev);
    }
  }
  return events;
}
