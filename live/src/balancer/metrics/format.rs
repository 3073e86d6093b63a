//! Which text format a scrape gets, from its `Accept` header.
//!
//! Prometheus asks for OpenMetrics first (`Accept: application/openmetrics-text;version=1.0.0,
//! ...;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`) and gets it; everyone else (curl, a
//! browser, `promtool check metrics`, which reads only the Prometheus text format) gets the
//! Prometheus text format 0.0.4, as Prometheus' Go client does. Both are written by
//! prometheus-client from the same registries. The difference a reader sees: OpenMetrics names
//! a counter family without `_total` in `# TYPE` (its samples keep it), adds `# UNIT` lines,
//! spells floats as `1.0`, and ends with `# EOF`.

use prometheus_client::encoding::prometheus_text;

/// A text exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format, version 0.0.4.
    Prometheus,
    /// OpenMetrics text, version 1.0.0.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics if `accept` ranks `application/openmetrics-text` (version 1.0.0 or none) at
    /// least as high as the Prometheus text format and above zero; the Prometheus text format
    /// otherwise, and when there is no `Accept` header.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let (mut open_metrics, mut text) = (0.0f64, 0.0f64);
        for range in accept.unwrap_or("").split(',') {
            let mut params = range.split(';').map(str::trim);
            let media = params.next().unwrap_or("").to_ascii_lowercase();
            let (mut q, mut version) = (1.0, None);
            for p in params {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" => q = v.trim().parse().unwrap_or(0.0),
                    "version" => version = Some(v.trim().trim_matches('"')),
                    _ => {}
                }
            }
            match media.as_str() {
                "application/openmetrics-text" if matches!(version, None | Some("1.0.0")) => {
                    open_metrics = open_metrics.max(q);
                }
                "text/plain" if matches!(version, None | Some("0.0.4")) => text = text.max(q),
                "text/*" | "*/*" => text = text.max(q),
                _ => {}
            }
        }
        if open_metrics > 0.0 && open_metrics >= text {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    /// The `Content-Type` of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_gets_open_metrics_and_everyone_else_the_text_format() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text")),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(None), Format::Prometheus);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Prometheus);
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Prometheus);
        // Ranked below the text format, refused, or a version this encoder does not write.
        let lower = "text/plain;version=0.0.4,application/openmetrics-text;q=0.5";
        assert_eq!(Format::negotiate(Some(lower)), Format::Prometheus);
        let refused = "application/openmetrics-text;q=0";
        assert_eq!(Format::negotiate(Some(refused)), Format::Prometheus);
        let old = "application/openmetrics-text; version=0.0.1";
        assert_eq!(Format::negotiate(Some(old)), Format::Prometheus);
        // Case and spaces do not matter.
        let spaced = "Application/OpenMetrics-Text ; Version=1.0.0 ; q=0.9 , text/plain ; q=0.2";
        assert_eq!(Format::negotiate(Some(spaced)), Format::OpenMetrics);
    }

    #[test]
    fn content_types_name_the_format_and_version() {
        assert_eq!(
            Format::Prometheus.content_type(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert!(
            Format::OpenMetrics
                .content_type()
                .starts_with("application/openmetrics-text; version=1.0.0")
        );
    }
}
