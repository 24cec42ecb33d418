//! Geo: differential tests against a real redis-server 7.0. Seeded random
//! points (clustered around a few cities, plus spread over the globe and
//! near the poles and the antimeridian) are added to both servers; then
//! many GEOSEARCH / GEORADIUS / GEORADIUSBYMEMBER queries with random
//! centers, radii, boxes, units and options must give byte-identical
//! replies (members, order, distance and coordinate texts, hashes), and
//! the stored results of GEOSEARCHSTORE / STORE / STOREDIST identical zsets.
use crate::hll::{Diff, Rng};

const UNITS: [&str; 4] = ["m", "km", "ft", "mi"];

fn fill(d: &mut Diff, rng: &mut Rng, key: &str, n: usize) {
    let centers = [
        (13.36, 38.11),
        (2.35, 48.85),
        (-122.4, 37.77),
        (179.9, -16.5),
        (0.0, 84.9),
    ];
    let mut args: Vec<String> = vec!["GEOADD".into(), key.into()];
    for i in 0..n {
        let (lon, lat) = if rng.below(4) == 0 {
            (rng.unit() * 360.0 - 180.0, rng.unit() * 170.0 - 85.0)
        } else {
            let c = centers[rng.below(centers.len() as u64) as usize];
            let spread = [0.01, 0.5, 3.0][rng.below(3) as usize];
            (
                (c.0 + (rng.unit() - 0.5) * spread).clamp(-180.0, 180.0),
                (c.1 + (rng.unit() - 0.5) * spread).clamp(-85.0, 85.0),
            )
        };
        args.push(format!("{lon:.6}"));
        args.push(format!("{lat:.6}"));
        args.push(format!("m{i}"));
        if args.len() > 300 {
            let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            d.both(&a);
            args.truncate(2);
        }
    }
    if args.len() > 2 {
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        d.both(&a);
    }
}

fn options(rng: &mut Rng, store: bool) -> Vec<String> {
    let mut o = Vec::new();
    match rng.below(3) {
        0 => o.push("ASC".into()),
        1 => o.push("DESC".into()),
        _ => {}
    }
    if rng.below(3) == 0 {
        o.push("COUNT".into());
        o.push((1 + rng.below(20)).to_string());
        if rng.below(4) == 0 {
            o.push("ANY".into());
        }
    }
    if !store {
        for w in ["WITHCOORD", "WITHDIST", "WITHHASH"] {
            if rng.below(2) == 0 {
                o.push(w.into());
            }
        }
    }
    o
}

fn run(d: &mut Diff, args: Vec<String>) {
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    d.both(&a);
}

#[test]
fn random_searches_match_redis() {
    let Some((_s, _r, mut d)) = Diff::start() else {
        return;
    };
    let mut rng = Rng(0x1234_5678_9abc_def1);
    // Small (listpack) and large geo sets.
    fill(&mut d, &mut rng, "small", 40);
    fill(&mut d, &mut rng, "big", 3000);
    for key in ["small", "big"] {
        for _ in 0..250 {
            let unit = UNITS[rng.below(4) as usize];
            let per_m = match unit {
                "m" => 1.0,
                "km" => 1000.0,
                "ft" => 0.3048,
                _ => 1609.34,
            };
            let meters = [100.0, 5_000.0, 50_000.0, 400_000.0, 3_000_000.0][rng.below(5) as usize]
                * rng.unit();
            let r = format!("{:.3}", meters / per_m);
            let member = format!("m{}", rng.below(40));
            let (lon, lat) = (
                format!("{:.5}", rng.unit() * 360.0 - 180.0),
                format!("{:.5}", rng.unit() * 170.0 - 85.0),
            );
            // Near a cluster center half of the time.
            let (lon, lat) = if rng.below(2) == 0 {
                ("13.4".to_string(), "38.1".to_string())
            } else {
                (lon, lat)
            };
            let from: Vec<String> = if rng.below(2) == 0 {
                vec!["FROMMEMBER".into(), member.clone()]
            } else {
                vec!["FROMLONLAT".into(), lon.clone(), lat.clone()]
            };
            let by: Vec<String> = if rng.below(2) == 0 {
                vec!["BYRADIUS".into(), r.clone(), unit.into()]
            } else {
                let h = format!("{:.3}", meters * (0.2 + rng.unit() * 2.0) / per_m);
                vec!["BYBOX".into(), r.clone(), h, unit.into()]
            };
            let mut q = vec!["GEOSEARCH".to_string(), key.into()];
            q.extend(from.clone());
            q.extend(by.clone());
            q.extend(options(&mut rng, false));
            run(&mut d, q);

            let mut q = vec![
                "GEORADIUS".to_string(),
                key.into(),
                lon.clone(),
                lat.clone(),
                r.clone(),
                unit.into(),
            ];
            q.extend(options(&mut rng, false));
            run(&mut d, q);

            let mut q = vec![
                "GEORADIUSBYMEMBER_RO".to_string(),
                key.into(),
                member.clone(),
                r.clone(),
                unit.into(),
            ];
            q.extend(options(&mut rng, false));
            run(&mut d, q);

            if rng.below(5) == 0 {
                let mut q = vec!["GEOSEARCHSTORE".to_string(), "dst".into(), key.into()];
                q.extend(from);
                q.extend(by);
                q.extend(options(&mut rng, true));
                if rng.below(2) == 0 {
                    q.push("STOREDIST".into());
                }
                run(&mut d, q);
                d.line("ZRANGE dst 0 -1 WITHSCORES");
                let mut q = vec![
                    "GEORADIUS".to_string(),
                    key.into(),
                    lon,
                    lat,
                    r,
                    unit.into(),
                ];
                q.extend(options(&mut rng, true));
                q.push(
                    if rng.below(2) == 0 {
                        "STORE"
                    } else {
                        "STOREDIST"
                    }
                    .into(),
                );
                q.push("dst2".into());
                run(&mut d, q);
                d.line("ZRANGE dst2 0 -1 WITHSCORES");
            }
        }
        for _ in 0..30 {
            let a = format!("m{}", rng.below(50));
            let b = format!("m{}", rng.below(50));
            let unit = UNITS[rng.below(4) as usize];
            run(
                &mut d,
                vec![
                    "GEODIST".into(),
                    key.into(),
                    a.clone(),
                    b.clone(),
                    unit.into(),
                ],
            );
            run(
                &mut d,
                vec![
                    "GEOPOS".into(),
                    key.into(),
                    a.clone(),
                    b.clone(),
                    "nosuch".into(),
                ],
            );
            run(
                &mut d,
                vec!["GEOHASH".into(), key.into(), a, b, "nosuch".into()],
            );
        }
    }
    d.line("ZRANGE big 0 50 WITHSCORES");
    d.check();
}

/// Members at identical coordinates tie on distance: the full sort keeps
/// scan order (glibc's stable qsort), COUNT goes through Redis's pqsort.
#[test]
fn equal_distances_come_out_in_redis_order() {
    let Some((_s, _r, mut d)) = Diff::start() else {
        return;
    };
    let mut rng = Rng(42);
    for key in ["few", "many"] {
        let n = if key == "few" { 30 } else { 400 };
        let mut args = vec!["GEOADD".to_string(), key.to_string()];
        for i in 0..n {
            // 6 distinct places, many members at each.
            let p = rng.below(6) as f64;
            args.push(format!("{:.4}", 13.0 + p * 0.01));
            args.push(format!("{:.4}", 38.0 + p * 0.005));
            args.push(format!("t{i}"));
        }
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        d.both(&a);
        for count in [1, 3, 7, 10, 25, 60, 200] {
            for order in ["ASC", "DESC"] {
                d.both(&[
                    "GEOSEARCH",
                    key,
                    "FROMLONLAT",
                    "13",
                    "38",
                    "BYRADIUS",
                    "50",
                    "km",
                    order,
                    "COUNT",
                    &count.to_string(),
                    "WITHDIST",
                ]);
            }
        }
        d.both(&[
            "GEOSEARCH",
            key,
            "FROMLONLAT",
            "13",
            "38",
            "BYRADIUS",
            "50",
            "km",
            "ASC",
        ]);
    }
    d.check();
}

#[test]
fn scripted_replies_and_errors_match_redis() {
    let Some((_s, _r, mut d)) = Diff::start() else {
        return;
    };
    for l in [
        "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        "GEOADD Sicily CH 13.361389 38.2 Palermo 1 2 x",
        "GEOADD Sicily NX 13.361389 38.3 Palermo",
        "GEOADD Sicily XX 13.361389 38.115556 Palermo 3 3 y",
        "GEOADD Sicily NX XX 1 1 z",
        "GEOADD Sicily 200 10 x",
        "GEOADD Sicily 10 86 x",
        "GEOADD Sicily abc 10 x",
        "GEOADD Sicily 10 10",
        "GEOADD Sicily 180 85.05112878 edge -180 -85.05112878 edge2",
        "GEOPOS Sicily edge edge2",
        "GEOHASH Sicily edge edge2 Palermo",
        "GEODIST Sicily Palermo Catania",
        "GEODIST Sicily Palermo Catania KM",
        "GEODIST Sicily Palermo Catania parsec",
        "GEODIST Sicily Palermo Catania km extra",
        "GEODIST nokey a b",
        "GEOPOS nokey a",
        "GEOHASH nokey a",
        "GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC",
        "GEORADIUS Sicily 15 37 200 km STORE out WITHDIST",
        "GEORADIUS_RO Sicily 15 37 200 km STORE out",
        "GEORADIUS nokey 15 37 200 km",
        "GEORADIUS nokey 15 37 200 km STORE out",
        "GEORADIUSBYMEMBER Sicily nomember 100 km",
        "GEORADIUSBYMEMBER nokey nomember 100 km",
        "GEOSEARCH Sicily FROMMEMBER nomember BYRADIUS 100 km",
        "GEOSEARCH nokey FROMMEMBER nomember BYRADIUS 100 km",
        "GEOSEARCH Sicily BYRADIUS 200 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37",
        "geosearch Sicily FROMLONLAT 15 37",
        "GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km BYBOX 1 1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ANY",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 0",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT x",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS -1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS abc km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 -1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX a 1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 a km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 100 lightyears",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 0 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 20000 km",
        "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST",
        "GEOSEARCHSTORE dst nokey FROMLONLAT 15 37 BYRADIUS 200 km",
        "SET str x",
        "GEOADD str 1 1 a",
        "GEOSEARCH str FROMLONLAT 15 37 BYRADIUS 200 km",
        "GEOPOS str a",
    ] {
        d.line(l);
    }
    // RESP3: coordinates are doubles, distances stay bulk strings.
    d.ours.c("HELLO 3");
    d.real.c("HELLO 3");
    d.line("GEOPOS Sicily Palermo nosuch");
    d.line("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD WITHDIST WITHHASH");
    d.line("GEODIST Sicily Palermo Catania");
    d.check();
}
