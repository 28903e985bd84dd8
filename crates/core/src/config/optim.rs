//! Optimisers: one network's `g_*` or `c_*` keys resolved into an [`OptimConfig`], with the
//! defaults of the objective's and penalty's sources and PyTorch's semantics.

use super::*;
use crate::objective::OptimDefaults;

impl RunSpec {
    /// One network's optimiser keys.
    pub(super) fn optim_spec(&self, net: Net) -> OptimSpec {
        match net {
            Net::G => OptimSpec {
                kind: self.g_optim,
                lr: self.g_lr,
                alpha: self.g_alpha,
                momentum: self.g_momentum,
                beta1: self.g_beta1,
                beta2: self.g_beta2,
                eps: self.g_eps,
            },
            Net::C => OptimSpec {
                kind: self.c_optim,
                lr: self.c_lr,
                alpha: self.c_alpha,
                momentum: self.c_momentum,
                beta1: self.c_beta1,
                beta2: self.c_beta2,
                eps: self.c_eps,
            },
        }
    }
}

#[derive(Clone, Copy)]
pub(super) enum Net {
    G,
    C,
}

impl Net {
    /// The spec key of this network's optimiser setting `name` (`g_lr`, `c_beta1`, ...).
    fn key(self, name: &str) -> &'static str {
        let prefix = match self {
            Net::G => "g_",
            Net::C => "c_",
        };
        KEYS.iter()
            .find(|k| k.strip_prefix(prefix) == Some(name))
            .expect("every optimiser setting is a declared key")
    }
}

/// One network's optimiser keys of a spec (`g_optim`, `g_lr`, ... without the prefix).
pub(super) struct OptimSpec {
    kind: Option<OptimKind>,
    lr: Option<f64>,
    alpha: Option<f64>,
    momentum: Option<f64>,
    beta1: Option<f64>,
    beta2: Option<f64>,
    eps: Option<f64>,
}

/// `v` if it lies in [0, 1), else an error naming `key`.
fn fraction(key: &'static str, v: f64) -> Result<f64, KeyError> {
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(KeyError::new(
            key,
            format!("{key} must be in [0, 1), got {v}"),
        ))
    }
}

/// `Err` naming this network's key `name` when it is `set` but does not apply to `kind`.
fn reject(net: Net, kind: OptimKind, name: &str, set: bool) -> Result<(), KeyError> {
    let key = net.key(name);
    let optim = net.key("optim");
    match set {
        true => Err(KeyError::new(
            key,
            format!("{key} does not apply to optimiser \"{kind}\" ({optim})"),
        )),
        false => Ok(()),
    }
}

/// The learning rate: the spec's, else the kind's default in `d`; it must be positive.
fn learning_rate(
    d: OptimDefaults,
    net: Net,
    kind: OptimKind,
    lr: Option<f64>,
) -> Result<f64, KeyError> {
    let default_lr = match kind {
        OptimKind::Rmsprop => d.rmsprop_lr,
        OptimKind::Adam => d.adam_lr,
    };
    let lr = lr.unwrap_or(default_lr);
    if !(lr > 0.0 && lr.is_finite()) {
        let key = net.key("lr");
        return Err(KeyError::new(
            key,
            format!("{key} must be a positive number, got {lr}"),
        ));
    }
    Ok(lr)
}

/// One network's optimiser: the kind, learning rate and betas default to `d`, the objective's
/// and penalty's sources' (see [`Objective::optim_defaults`], [`Penalty::optim_defaults`]).
pub(super) fn resolve_optim(
    d: OptimDefaults,
    net: Net,
    o: OptimSpec,
) -> Result<OptimConfig, KeyError> {
    let kind = o.kind.unwrap_or(if d.rmsprop {
        OptimKind::Rmsprop
    } else {
        OptimKind::Adam
    });
    let reject = |name: &str, set: bool| reject(net, kind, name, set);
    let lr = learning_rate(d, net, kind, o.lr)?;
    let setting =
        |name: &str, v: Option<f64>, default: f64| fraction(net.key(name), v.unwrap_or(default));
    Ok(match kind {
        // PyTorch/TensorFlow semantics, not Burn's defaults (momentum 0.9, eps 1e-5).
        OptimKind::Rmsprop => {
            reject("beta1", o.beta1.is_some())?;
            reject("beta2", o.beta2.is_some())?;
            OptimConfig {
                kind,
                lr,
                alpha: Some(setting("alpha", o.alpha, 0.99)?),
                momentum: Some(setting("momentum", o.momentum, 0.0)?),
                beta1: None,
                beta2: None,
                eps: setting("eps", o.eps, 1e-8)?,
            }
        }
        OptimKind::Adam => {
            reject("alpha", o.alpha.is_some())?;
            reject("momentum", o.momentum.is_some())?;
            let (b1, b2) = d.adam_betas;
            OptimConfig {
                kind,
                lr,
                alpha: None,
                momentum: None,
                beta1: Some(setting("beta1", o.beta1, b1)?),
                beta2: Some(setting("beta2", o.beta2, b2)?),
                eps: setting("eps", o.eps, 1e-8)?,
            }
        }
    })
}
