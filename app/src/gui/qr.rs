//! Invite tickets as QR codes, drawn into a texture.

use qrcode::{Color, EcLevel, QrCode};

/// Pixels per QR module.
const SCALE: usize = 4;
/// Quiet zone in modules.
const QUIET: usize = 4;

/// The QR code of `text` as an RGBA image (black on white), or `None` when the text is
/// too long for a QR code.
pub fn image(text: &str) -> Option<egui::ColorImage> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).ok()?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![egui::Color32::WHITE; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == Color::Dark {
            let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
            for dy in 0..SCALE {
                for dx in 0..SCALE {
                    pixels[(my * SCALE + dy) * side + mx * SCALE + dx] = egui::Color32::BLACK;
                }
            }
        }
    }
    Some(egui::ColorImage::new([side, side], pixels))
}

/// Loads the QR code of `text` as a texture.
pub fn texture(ctx: &egui::Context, text: &str) -> Option<egui::TextureHandle> {
    image(text).map(|img| ctx.load_texture("invite-qr", img, egui::TextureOptions::NEAREST))
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_a_ticket_sized_text() {
        let text = "peercoach".to_string() + &"a".repeat(300);
        let img = super::image(&text).expect("fits");
        assert!(img.size[0] > 100 && img.size[0] == img.size[1]);
        assert!(img.pixels.contains(&egui::Color32::BLACK));
    }
}
