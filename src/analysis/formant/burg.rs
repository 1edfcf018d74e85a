//! The LPC half of the formant tracker: Burg's fit of a frame (Praat's `VECburg`) and the
//! roots of its prediction polynomial, as the eigenvalues of its companion matrix.

use nalgebra::{DMatrix, Schur};

/// `(Σ p·q, Σ p² + q²)`, in four running sums: the sums' chains of dependent additions were
/// half the time of a frame, and four of them overlap in the pipeline (and vectorise).
fn dot_and_energy(p: &[f64], q: &[f64]) -> (f64, f64) {
    let (mut num, mut den) = ([0.0f64; 4], [0.0f64; 4]);
    let (pc, qc) = (p.chunks_exact(4), q.chunks_exact(4));
    let (pr, qr) = (pc.remainder(), qc.remainder());
    for (a, b) in pc.zip(qc) {
        for i in 0..4 {
            num[i] += a[i] * b[i];
            den[i] += a[i] * a[i] + b[i] * b[i];
        }
    }
    let (mut n, mut d) = (num.iter().sum::<f64>(), den.iter().sum::<f64>());
    for (a, b) in pr.iter().zip(qr) {
        n += a * b;
        d += a * a + b * b;
    }
    (n, d)
}

/// Burg's LPC fit and the roots of its prediction polynomial, with buffers kept between frames.
pub(super) struct Burg {
    /// The windowed frame.
    pub(super) x: Vec<f64>,
    a: Vec<f64>,
    aa: Vec<f64>,
    b1: Vec<f64>,
    b2: Vec<f64>,
    c1: Vec<f64>,
    c2: Vec<f64>,
}

impl Burg {
    pub(super) fn new(order: usize) -> Self {
        Self {
            x: Vec::new(),
            a: vec![0.0; order],
            aa: vec![0.0; order],
            b1: Vec::new(),
            b2: Vec::new(),
            c1: Vec::new(),
            c2: Vec::new(),
        }
    }

    /// Praat's `VECburg` (after N. Anderson in Childers (ed.), Modern Spectrum Analysis, 1978):
    /// fills `a` with prediction coefficients, `x[n] ≈ Σ a[j] x[n-1-j]`. False when the frame
    /// is too short or degenerate.
    fn fit(&mut self) -> bool {
        let (x, m) = (&self.x, self.a.len());
        let n = x.len();
        self.a.fill(0.0);
        self.aa.fill(0.0);
        if n < m + 2 || x.iter().map(|v| v * v).sum::<f64>() <= 0.0 {
            return false;
        }
        // b1 = x[0..n-1], b2 = x[1..n]: forward and backward prediction errors.
        self.b1.clear();
        self.b1.extend_from_slice(&x[..n - 1]);
        self.b2.clear();
        self.b2.extend_from_slice(&x[1..]);
        for i in 0..m {
            let len = n - 1 - i;
            let (num, den) = dot_and_energy(&self.b1[..len], &self.b2[..len]);
            if den <= 0.0 {
                // The errors vanished: keep the lower-order model found so far, as Praat does.
                break;
            }
            let k = 2.0 * num / den;
            self.a[i] = k;
            for j in 0..i {
                self.a[j] = self.aa[j] - k * self.aa[i - 1 - j];
            }
            if i + 1 < m {
                self.aa[..=i].copy_from_slice(&self.a[..=i]);
                // b1[j] -= k b2[j]; b2[j] = b2[j+1] - k b1[j+1], both from the old values:
                // into fresh buffers, so the loops vectorise.
                let (b1, b2) = (&self.b1[..len], &self.b2[..len]);
                self.c1.clear();
                self.c1.extend(
                    b1[..len - 1]
                        .iter()
                        .zip(&b2[..len - 1])
                        .map(|(p, q)| p - k * q),
                );
                self.c2.clear();
                self.c2
                    .extend(b2[1..].iter().zip(&b1[1..]).map(|(q, p)| q - k * p));
                std::mem::swap(&mut self.b1, &mut self.c1);
                std::mem::swap(&mut self.b2, &mut self.c2);
            }
        }
        true
    }

    /// Roots of `z^m - a[0] z^(m-1) - … - a[m-1]`, the eigenvalues of its companion matrix.
    pub(super) fn roots(&mut self) -> Option<Vec<nalgebra::Complex<f64>>> {
        if !self.fit() || !self.a.iter().all(|v| v.is_finite()) {
            return None;
        }
        // The usual order (5 formants) on the stack, where nalgebra unrolls the sweeps;
        // any other order on the heap.
        match self.a.len() {
            10 => companion_roots(nalgebra::SMatrix::<f64, 10, 10>::zeros(), &self.a),
            m => companion_roots(DMatrix::<f64>::zeros(m, m), &self.a),
        }
    }
}

/// The eigenvalues of the companion matrix of `z^m - a[0] z^(m-1) - … - a[m-1]`, built in `c`
/// (an m × m matrix of zeros).
fn companion_roots<D>(
    mut c: nalgebra::OMatrix<f64, D, D>,
    a: &[f64],
) -> Option<Vec<nalgebra::Complex<f64>>>
where
    D: nalgebra::DimSub<nalgebra::U1>,
    nalgebra::DefaultAllocator: nalgebra::allocator::Allocator<D, nalgebra::DimDiff<D, nalgebra::U1>>
        + nalgebra::allocator::Allocator<nalgebra::DimDiff<D, nalgebra::U1>>
        + nalgebra::allocator::Allocator<D, D>
        + nalgebra::allocator::Allocator<D>,
{
    let m = a.len();
    for (j, v) in a.iter().enumerate() {
        c[(0, j)] = *v;
    }
    for i in 1..m {
        c[(i, i - 1)] = 1.0;
    }
    // A bounded number of QR sweeps: a frame that does not converge has no formants rather
    // than stalling the caller.
    let schur = Schur::try_new(c, f64::EPSILON, 100 * m)?;
    Some(schur.complex_eigenvalues().iter().copied().collect())
}
