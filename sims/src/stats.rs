//! Summaries over replications: mean, sample standard deviation and a 95% confidence interval
//! from Student's t, and paired differences between variants run on the same seeds.

use serde::Serialize;

/// Mean, spread and 95% interval of one metric over replications.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Replications.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator); 0 for one replication.
    pub sd: f64,
    /// Lower end of the 95% interval of the mean: mean − t(0.975, n−1) · sd / √n.
    pub ci_low: f64,
    /// Upper end.
    pub ci_high: f64,
}

/// Two-sided 97.5% quantile of Student's t with `df` degrees of freedom (table to 30, then the
/// normal 1.96 beyond 120; linear in 1/df between).
pub fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => T[df - 1],
        _ if df >= 120 => 1.96,
        _ => {
            // Interpolate in 1/df between 30 (2.042), 60 (2.000) and 120 (1.980).
            let (d, x) = (df as f64, 1.0 / df as f64);
            if d <= 60.0 {
                2.000 + (2.042 - 2.000) * (x - 1.0 / 60.0) / (1.0 / 30.0 - 1.0 / 60.0)
            } else {
                1.980 + (2.000 - 1.980) * (x - 1.0 / 120.0) / (1.0 / 60.0 - 1.0 / 120.0)
            }
        }
    }
}

/// Summarises `xs`.
pub fn summarize(xs: &[f64]) -> Summary {
    let n = xs.len();
    if n == 0 {
        return Summary::default();
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Summary {
            n,
            mean,
            sd: 0.0,
            ci_low: mean,
            ci_high: mean,
        };
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    let half = t975(n - 1) * sd / (n as f64).sqrt();
    Summary {
        n,
        mean,
        sd,
        ci_low: mean - half,
        ci_high: mean + half,
    }
}

/// The difference `variant − base` run on the same seeds (common random numbers): the summary of
/// the per-seed differences, a paired interval (narrower than comparing two independent means).
pub fn paired_difference(base: &[f64], variant: &[f64]) -> Summary {
    let d: Vec<f64> = base.iter().zip(variant).map(|(b, v)| v - b).collect();
    summarize(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_by_hand() {
        // 1, 2, 3, 4, 5: mean 3, sd √2.5 = 1.5811, t(0.975, 4) = 2.776,
        // half width 2.776 × 1.5811 / √5 = 1.9630.
        let s = summarize(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.n, 5);
        assert!((s.mean - 3.0).abs() < 1e-12);
        assert!((s.sd - 2.5f64.sqrt()).abs() < 1e-12);
        assert!((s.ci_low - (3.0 - 1.9630)).abs() < 1e-3, "{s:?}");
        assert!((s.ci_high - (3.0 + 1.9630)).abs() < 1e-3, "{s:?}");
        let one = summarize(&[7.0]);
        assert_eq!(
            (one.mean, one.sd, one.ci_low, one.ci_high),
            (7.0, 0.0, 7.0, 7.0)
        );
    }

    #[test]
    fn paired_difference_by_hand() {
        // Differences 1, 1, 1: mean 1, sd 0, interval [1, 1].
        let d = paired_difference(&[1.0, 5.0, 9.0], &[2.0, 6.0, 10.0]);
        assert_eq!((d.mean, d.sd, d.ci_low, d.ci_high), (1.0, 0.0, 1.0, 1.0));
    }

    #[test]
    fn t_quantiles() {
        assert_eq!(t975(1), 12.706);
        assert_eq!(t975(30), 2.042);
        assert!((t975(60) - 2.000).abs() < 1e-9);
        assert_eq!(t975(500), 1.96);
        assert!(t975(45) < 2.042 && t975(45) > 2.000);
    }
}
