//! Redis's geohash (`geohash.c`, `geohash_helper.c`): 52-bit interleaved
//! scores (26 bits of latitude in the even bits, longitude in the odd ones,
//! over latitudes ±85.05112878), the haversine distance on a sphere of
//! radius 6372797.560856 m, and the choice of the 9 boxes a radius or box
//! search scans. Hand-written to match Redis operation for operation, since
//! the scores are stored (RDB, replication) and the boxes decide which
//! members a search sees and in what order.

pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
pub const EARTH_RADIUS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bits {
    pub bits: u64,
    pub step: u8,
}

impl Bits {
    fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

#[derive(Clone, Copy, Debug)]
pub struct Area {
    pub lon: Range,
    pub lat: Range,
}

pub fn deg_rad(a: f64) -> f64 {
    a * D_R
}

pub fn rad_deg(a: f64) -> f64 {
    a / D_R
}

fn spread(v: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555_5555_5555_5555,
        0x3333_3333_3333_3333,
        0x0F0F_0F0F_0F0F_0F0F,
        0x00FF_00FF_00FF_00FF,
        0x0000_FFFF_0000_FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let mut x = v as u64;
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
    }
    x
}

fn squash(v: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555_5555_5555_5555,
        0x3333_3333_3333_3333,
        0x0F0F_0F0F_0F0F_0F0F,
        0x00FF_00FF_00FF_00FF,
        0x0000_FFFF_0000_FFFF,
        0x0000_0000_FFFF_FFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = v;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
    }
    x
}

/// Latitude bits in the even positions, longitude in the odd ones.
pub fn interleave64(lat: u32, lon: u32) -> u64 {
    spread(lat) | (spread(lon) << 1)
}

/// Inverse of interleave64: latitude in the low 32 bits, longitude high.
pub fn deinterleave64(v: u64) -> u64 {
    squash(v) | (squash(v >> 1) << 32)
}

/// geohashEncode with the given ranges; None outside the valid area.
pub fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<Bits> {
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let mut lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min);
    let mut lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min);
    lat_off *= (1u64 << step) as f64;
    lon_off *= (1u64 << step) as f64;
    Some(Bits {
        bits: interleave64(lat_off as u32, lon_off as u32),
        step,
    })
}

pub fn wgs84() -> (Range, Range) {
    (
        Range {
            min: LONG_MIN,
            max: LONG_MAX,
        },
        Range {
            min: LAT_MIN,
            max: LAT_MAX,
        },
    )
}

/// The 52-bit score of a valid coordinate pair.
pub fn score(lon: f64, lat: f64) -> u64 {
    let (lr, ar) = wgs84();
    encode(lr, ar, lon, lat, STEP_MAX).map_or(0, |b| b.bits)
}

pub fn decode(lon_r: Range, lat_r: Range, h: Bits) -> Area {
    let sep = deinterleave64(h.bits);
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let div = (1u64 << h.step) as f64;
    Area {
        lat: Range {
            min: lat_r.min + (ilato as f64 / div) * lat_scale,
            max: lat_r.min + ((ilato.wrapping_add(1)) as f64 / div) * lat_scale,
        },
        lon: Range {
            min: lon_r.min + (ilono as f64 / div) * lon_scale,
            max: lon_r.min + ((ilono.wrapping_add(1)) as f64 / div) * lon_scale,
        },
    }
}

fn area_center(a: &Area) -> (f64, f64) {
    let lon = ((a.lon.min + a.lon.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((a.lat.min + a.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// Longitude and latitude of a stored score (decodeGeohash).
pub fn decode_score(score: f64) -> (f64, f64) {
    let (lr, ar) = wgs84();
    let a = decode(
        lr,
        ar,
        Bits {
            bits: score as u64,
            step: STEP_MAX,
        },
    );
    area_center(&a)
}

/// The 11-character standard geohash string (GEOHASH).
pub fn hash_string(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = decode_score(score);
    let r = encode(
        Range {
            min: -180.0,
            max: 180.0,
        },
        Range {
            min: -90.0,
            max: 90.0,
        },
        lon,
        lat,
        26,
    )
    .unwrap_or_default();
    let mut buf = [0u8; 11];
    for (i, b) in buf.iter_mut().enumerate() {
        let idx = if i == 10 {
            0
        } else {
            ((r.bits >> (52 - (i + 1) * 5)) & 0x1f) as usize
        };
        *b = ALPHABET[idx];
    }
    buf
}

pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Haversine distance in meters (geohashGetDistance).
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS * a.sqrt().asin()
}

/// A search shape: a circle (radius) or a box (width, height), in the
/// user's unit, with `conversion` meters per unit.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    Radius(f64),
    Box(f64, f64),
}

#[derive(Clone, Copy, Debug)]
pub struct Search {
    pub lon: f64,
    pub lat: f64,
    pub shape: Shape,
    pub conversion: f64,
}

impl Search {
    /// The distance in meters if the point is inside (geoWithinShape).
    pub fn within(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.shape {
            Shape::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.conversion).then_some(d)
            }
            Shape::Box(w, h) => {
                let (w, h) = (w * self.conversion, h * self.conversion);
                if lat_distance(lat, self.lat) > h / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > w / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }

    /// geohashBoundingBox: [min_lon, min_lat, max_lon, max_lat].
    fn bounding_box(&self) -> [f64; 4] {
        let (height, width) = match self.shape {
            Shape::Radius(r) => (r * self.conversion, r * self.conversion),
            Shape::Box(w, h) => (self.conversion * h / 2.0, self.conversion * w / 2.0),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS);
        let top = rad_deg(width / EARTH_RADIUS / deg_rad(self.lat + lat_delta).cos());
        let bottom = rad_deg(width / EARTH_RADIUS / deg_rad(self.lat - lat_delta).cos());
        let south = self.lat < 0.0;
        [
            if south {
                self.lon - bottom
            } else {
                self.lon - top
            },
            self.lat - lat_delta,
            if south {
                self.lon + bottom
            } else {
                self.lon + top
            },
            self.lat + lat_delta,
        ]
    }

    /// The score ranges `[min, max)` to scan, in Redis's order (the
    /// center box, then N, S, E, W, NE, NW, SE, SW, skipping excluded
    /// and repeated boxes as membersOfAllNeighbors does).
    pub fn boxes(&self) -> Vec<(u64, u64)> {
        let b = self.bounding_box();
        let (min_lon, min_lat, max_lon, max_lat) = (b[0], b[1], b[2], b[3]);
        let radius_m = match self.shape {
            Shape::Radius(r) => r,
            Shape::Box(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
        } * self.conversion;
        let mut steps = estimate_steps(radius_m, self.lat);
        let (lr, ar) = wgs84();
        let enc = |steps: u8| encode(lr, ar, self.lon, self.lat, steps).unwrap_or_default();
        let mut hash = enc(steps);
        let mut nb = neighbors(&hash);
        let mut area = decode(lr, ar, hash);
        let (n, s, e, w) = (
            decode(lr, ar, nb[0]),
            decode(lr, ar, nb[1]),
            decode(lr, ar, nb[2]),
            decode(lr, ar, nb[3]),
        );
        let decrease = n.lat.max < max_lat
            || s.lat.min > min_lat
            || e.lon.max < max_lon
            || w.lon.min > min_lon;
        if steps > 1 && decrease {
            steps -= 1;
            hash = enc(steps);
            nb = neighbors(&hash);
            area = decode(lr, ar, hash);
        }
        // nb order: north, south, east, west, north_east, north_west, south_east, south_west
        if steps >= 2 {
            let z = Bits::default();
            if area.lat.min < min_lat {
                nb[1] = z;
                nb[7] = z;
                nb[6] = z;
            }
            if area.lat.max > max_lat {
                nb[0] = z;
                nb[4] = z;
                nb[5] = z;
            }
            if area.lon.min < min_lon {
                nb[3] = z;
                nb[7] = z;
                nb[5] = z;
            }
            if area.lon.max > max_lon {
                nb[2] = z;
                nb[6] = z;
                nb[4] = z;
            }
        }
        let all = [hash, nb[0], nb[1], nb[2], nb[3], nb[4], nb[5], nb[6], nb[7]];
        let mut out = Vec::with_capacity(9);
        let mut last = 0usize;
        for (i, h) in all.iter().enumerate() {
            if h.is_zero() {
                continue;
            }
            if last != 0 && h.bits == all[last].bits && h.step == all[last].step {
                continue;
            }
            let shift = 52 - h.step as u32 * 2;
            out.push((h.bits << shift, (h.bits + 1) << shift));
            last = i;
        }
        out
    }
}

fn estimate_steps(mut range: f64, lat: f64) -> u8 {
    if range == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

fn move_x(h: &mut Bits, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

fn move_y(h: &mut Bits, d: i8) {
    if d == 0 {
        return;
    }
    let x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

/// north, south, east, west, north_east, north_west, south_east, south_west.
fn neighbors(h: &Bits) -> [Bits; 8] {
    let dirs: [(i8, i8); 8] = [
        (0, 1),
        (0, -1),
        (1, 0),
        (-1, 0),
        (1, 1),
        (-1, 1),
        (1, -1),
        (-1, -1),
    ];
    dirs.map(|(dx, dy)| {
        let mut n = *h;
        move_x(&mut n, dx);
        move_y(&mut n, dy);
        n
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for &(a, b) in &[
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0x3ff_ffff, 0x123_4567),
            (u32::MAX, 7),
        ] {
            let d = deinterleave64(interleave64(a, b));
            assert_eq!((d as u32, (d >> 32) as u32), (a, b));
        }
    }

    #[test]
    fn known_score_and_hash() {
        // Palermo, from Redis's GEOADD documentation: score 3479099956230698.
        let s = score(13.361389, 38.115556);
        assert_eq!(s, 3479099956230698);
        assert_eq!(&hash_string(s as f64), b"sqc8b49rny0");
        let (lon, lat) = decode_score(s as f64);
        assert!((lon - 13.361389).abs() < 1e-5 && (lat - 38.115556).abs() < 1e-5);
    }

    #[test]
    fn palermo_catania_distance() {
        let (a, b) = (
            decode_score(score(13.361389, 38.115556) as f64),
            decode_score(score(15.087269, 37.502669) as f64),
        );
        let d = distance(a.0, a.1, b.0, b.1);
        assert_eq!(format!("{:.4}", d), "166274.1516");
    }
}
