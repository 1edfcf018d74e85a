//! Chinese numerals and Arabic digits: the normaliser's numeral policy.
//!
//! Owns the two conversions and their ambiguity rules; the normaliser decides when to call them.
//!
//! - **Digits → hanzi** (what DIALECT.md §3.2 recommends, as SpeechIO does): a run of 7 or more
//!   digits, one with a leading zero, or 2/4 digits before 年 is read digit by digit
//!   (`13912345678` → 一三九一二三四五六七八, `2024年` → 二零二四年); shorter runs are
//!   cardinals (`105` → 一百零五, `12` → 十二), `3.5` → 三点五 and `50%` → 百分之五十.
//!   二 is used throughout, never 两, and 一 never 幺: the 二/两 and 一/幺 ambiguities are left to
//!   the transcription conventions.
//! - **Hanzi → digits, only where unambiguous**: a well-formed numeral with a unit and at least
//!   two characters (`一百零五` → 105, `两千` → 2000), a run of three or more digit characters
//!   (`一二三` → 123) or two before 年, and decimals (`三点五` → 3.5). A lone 一 or 十 (一起,
//!   十分), adjacent digits (三四个, "three or four"), colloquial abbreviations (三万五) and
//!   unit-first words (万一, 千万) stay as they are.

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// Rewrites Arabic numbers in `text` as Chinese numerals.
pub fn digits_to_hanzi(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut k = 0;
    while k < chars.len() {
        if !chars[k].is_ascii_digit() {
            out.push(chars[k]);
            k += 1;
            continue;
        }
        let start = k;
        while k < chars.len() && chars[k].is_ascii_digit() {
            k += 1;
        }
        let int: String = chars[start..k].iter().collect();
        let mut frac = String::new();
        if k + 1 < chars.len() && chars[k] == '.' && chars[k + 1].is_ascii_digit() {
            k += 1;
            while k < chars.len() && chars[k].is_ascii_digit() {
                frac.push(chars[k]);
                k += 1;
            }
        }
        let percent = chars.get(k) == Some(&'%');
        let year = frac.is_empty() && chars.get(k) == Some(&'年') && matches!(int.len(), 2 | 4);
        let mut spoken = if year || int.len() >= 7 || (int.len() > 1 && int.starts_with('0')) {
            digit_by_digit(&int)
        } else {
            int.parse::<u64>()
                .map_or_else(|_| digit_by_digit(&int), cardinal)
        };
        if !frac.is_empty() {
            spoken.push('点');
            spoken.push_str(&digit_by_digit(&frac));
        }
        if percent {
            out.push_str("百分之");
            k += 1;
        }
        out.push_str(&spoken);
    }
    out
}

fn digit_by_digit(digits: &str) -> String {
    digits
        .bytes()
        .map(|b| DIGITS[usize::from(b - b'0')])
        .collect()
}

/// The cardinal reading of `n` (`0` → 零, `10` → 十, `110` → 一百一十, `10005` → 一万零五).
pub fn cardinal(n: u64) -> String {
    if n == 0 {
        return "零".into();
    }
    let mut groups = Vec::new();
    let mut rest = n;
    while rest > 0 {
        groups.push(rest % 10_000);
        rest /= 10_000;
    }
    let big = ["", "万", "亿", "万亿", "亿亿"];
    let mut out = String::new();
    let mut need_zero = false;
    for (g, &value) in groups.iter().enumerate().rev() {
        if value == 0 {
            need_zero = !out.is_empty();
            continue;
        }
        if need_zero || (!out.is_empty() && value < 1000) {
            out.push('零');
        }
        out.push_str(&group(value));
        out.push_str(big[g]);
        need_zero = false;
    }
    if let Some(rest) = out.strip_prefix("一十") {
        out = format!("十{rest}");
    }
    out
}

/// 1..=9999 without the 万/亿 suffix.
fn group(v: u64) -> String {
    let units = ['千', '百', '十'];
    let ds = [v / 1000, v / 100 % 10, v / 10 % 10, v % 10];
    let mut out = String::new();
    let mut zero = false;
    for (k, &d) in ds.iter().enumerate() {
        if d == 0 {
            zero = !out.is_empty();
            continue;
        }
        if zero {
            out.push('零');
            zero = false;
        }
        out.push(DIGITS[d as usize]);
        if k < 3 {
            out.push(units[k]);
        }
    }
    out
}

fn digit_value(c: char) -> Option<u64> {
    match c {
        '零' | '〇' => Some(0),
        '两' => Some(2),
        _ => DIGITS.iter().position(|&d| d == c).map(|p| p as u64),
    }
}

fn is_numeral(c: char) -> bool {
    digit_value(c).is_some() || matches!(c, '十' | '百' | '千' | '万' | '亿')
}

/// Rewrites Chinese numerals in `text` as Arabic digits where the reading is unambiguous.
pub fn hanzi_to_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut k = 0;
    while k < chars.len() {
        if !is_numeral(chars[k]) {
            out.push(chars[k]);
            k += 1;
            continue;
        }
        let start = k;
        while k < chars.len() && is_numeral(chars[k]) {
            k += 1;
        }
        let run = &chars[start..k];
        // A decimal: numeral 点 digit-characters.
        let mut frac = String::new();
        let mut end = k;
        if chars.get(k) == Some(&'点') {
            let mut f = k + 1;
            while f < chars.len() && digit_value(chars[f]).is_some() && chars[f] != '两' {
                frac.push(char::from(b'0' + digit_value(chars[f]).unwrap_or(0) as u8));
                f += 1;
            }
            if !frac.is_empty() {
                end = f;
            }
        }
        let followed_by_year = chars.get(k) == Some(&'年');
        let int = if frac.is_empty() {
            whole_number(run, followed_by_year)
        } else if run.len() == 1 && run[0] != '两' {
            digit_value(run[0]).map(|v| v.to_string())
        } else {
            whole_number(run, false)
        };
        match int {
            Some(int) if !frac.is_empty() => {
                out.push_str(&int);
                out.push('.');
                out.push_str(&frac);
                k = end;
            }
            Some(int) => out.push_str(&int),
            None => out.extend(run),
        }
    }
    out
}

fn whole_number(run: &[char], before_year: bool) -> Option<String> {
    let has_unit = run
        .iter()
        .any(|c| matches!(c, '十' | '百' | '千' | '万' | '亿'));
    if !has_unit {
        if run.contains(&'两') || run.len() < 2 || (run.len() == 2 && !before_year) {
            return None;
        }
        return run
            .iter()
            .map(|&c| digit_value(c).map(|v| char::from(b'0' + v as u8)))
            .collect();
    }
    if run.len() < 2 {
        return None;
    }
    parse_cardinal(run).map(|v| v.to_string())
}

/// Strict parse of a cardinal: every unit after a digit (十 may stand alone at the start), units
/// falling within a 万/亿 section, 零 only between non-zero parts, a trailing digit only after
/// 十 or 零 (so 三百五 "350" and 三万五 "35 000" are refused rather than misread).
fn parse_cardinal(run: &[char]) -> Option<u64> {
    let mut total: u64 = 0;
    let mut section: u64 = 0;
    let mut digit: Option<u64> = None;
    let mut last_unit: u64 = u64::MAX;
    let mut after_zero = false;
    let mut last_big: u64 = u64::MAX;
    for (k, &c) in run.iter().enumerate() {
        match c {
            '十' | '百' | '千' => {
                let unit = match c {
                    '十' => 10,
                    '百' => 100,
                    _ => 1000,
                };
                if unit >= last_unit {
                    return None;
                }
                let d = match digit.take() {
                    Some(d) if d > 0 => d,
                    None if c == '十' && k == 0 => 1,
                    _ => return None,
                };
                section += d * unit;
                last_unit = unit;
                after_zero = false;
            }
            '万' | '亿' => {
                let big = if c == '万' { 10_000 } else { 100_000_000 };
                if let Some(d) = digit.take() {
                    if d == 0 {
                        return None;
                    }
                    section += d;
                }
                if section == 0 || big >= last_big {
                    return None;
                }
                total = if big == 10_000 {
                    total.checked_add(section.checked_mul(big)?)?
                } else {
                    (total + section).checked_mul(big)?
                };
                last_big = big;
                section = 0;
                last_unit = u64::MAX;
                after_zero = false;
            }
            _ => {
                let v = digit_value(c)?;
                if digit.is_some() {
                    return None;
                }
                if v == 0 {
                    if after_zero || (section == 0 && total == 0) {
                        return None;
                    }
                    after_zero = true;
                    continue;
                }
                if c == '两' && !matches!(run.get(k + 1), Some('百' | '千' | '万' | '亿')) {
                    return None;
                }
                digit = Some(v);
            }
        }
    }
    if let Some(d) = digit {
        if !(after_zero || last_unit == 10) {
            return None;
        }
        section += d;
    }
    Some(total + section)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cardinals() {
        let cases = [
            (0, "零"),
            (7, "七"),
            (10, "十"),
            (12, "十二"),
            (20, "二十"),
            (105, "一百零五"),
            (110, "一百一十"),
            (2000, "二千"),
            (2024, "二千零二十四"),
            (10005, "一万零五"),
            (35000, "三万五千"),
            (100_010, "十万零一十"),
            (1_0000_0000, "一亿"),
            (1_2000_0000, "一亿二千万"),
        ];
        for (n, s) in cases {
            assert_eq!(cardinal(n), s, "{n}");
        }
    }

    #[test]
    fn digits_to_hanzi_readings() {
        assert_eq!(
            digits_to_hanzi("2024年花了105块"),
            "二零二四年花了一百零五块"
        );
        assert_eq!(
            digits_to_hanzi("电话13912345678"),
            "电话一三九一二三四五六七八"
        );
        assert_eq!(digits_to_hanzi("3.5斤 50%"), "三点五斤 百分之五十");
        assert_eq!(digits_to_hanzi("007"), "零零七");
    }

    #[test]
    fn hanzi_to_digits_only_where_unambiguous() {
        assert_eq!(hanzi_to_digits("一百零五块"), "105块");
        assert_eq!(hanzi_to_digits("两千人"), "2000人");
        assert_eq!(hanzi_to_digits("二零二四年"), "2024年");
        assert_eq!(hanzi_to_digits("三点五斤"), "3.5斤");
        assert_eq!(hanzi_to_digits("十二个"), "12个");
        assert_eq!(hanzi_to_digits("三万五千"), "35000");
        for keep in [
            "一起",
            "十分",
            "三四个",
            "万一",
            "千万",
            "三万五",
            "三百五",
            "两个",
            "一点点",
        ] {
            assert_eq!(hanzi_to_digits(keep), keep);
        }
    }

    #[test]
    fn round_trip_of_cardinals() {
        for n in [
            11,
            19,
            101,
            999,
            1001,
            1010,
            9999,
            10_000,
            10_101,
            123_456,
            20_000_000,
            120_000_000,
        ] {
            let h = cardinal(n);
            assert_eq!(hanzi_to_digits(&h), n.to_string(), "{h}");
        }
    }
}
