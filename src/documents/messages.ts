import type { ErrorCode } from '../errors.ts';

/**
 * The cropper's refusals in the languages a client may ask for with `lang`. English is the message the
 * error was raised with; a code or language missing here falls back to it.
 */
const TRANSLATIONS: Partial<Record<ErrorCode, Record<string, string>>> = {
  document_not_found: {
    ar: 'لم يتم العثور على مستند في الصورة',
    fr: 'aucun document n’a été trouvé dans la photo',
    es: 'no se encontró ningún documento en la foto',
  },
  document_cut: {
    ar: 'المستند مقطوع عند حافة الصورة: صوّر المستند كاملاً مع هامش حوله',
    fr: 'le document dépasse du bord de la photo : photographiez-le en entier, avec une marge autour',
    es: 'el documento se sale del borde de la foto: fotografíelo entero, con un margen alrededor',
  },
  document_too_small: {
    ar: 'المستند صغير جداً في الصورة: اقترب منه',
    fr: 'le document est trop petit dans la photo : rapprochez-vous',
    es: 'el documento es demasiado pequeño en la foto: acérquese',
  },
  document_blurred: {
    ar: 'المستند غير واضح: ثبّت الكاميرا وانتظر حتى يتم التركيز',
    fr: 'le document est trop flou pour être lu : tenez l’appareil immobile et laissez-le faire la mise au point',
    es: 'el documento está demasiado borroso: mantenga la cámara quieta y deje que enfoque',
  },
  document_glare: {
    ar: 'انعكاس الضوء يخفي جزءاً من المستند: أمِل المستند بعيداً عن الضوء',
    fr: 'un reflet de lumière cache une partie du document : inclinez-le à l’écart de la lumière',
    es: 'un reflejo de luz oculta parte del documento: inclínelo para evitar la luz',
  },
  unsupported_media_type: {
    ar: 'يجب أن تكون الصورة بترميز base64 لصورة JPEG أو PNG أو WebP',
    fr: 'img doit être le base64 d’une image JPEG, PNG ou WebP',
    es: 'img debe ser el base64 de una imagen JPEG, PNG o WebP',
  },
};

/** languages with a translation of every refusal above */
export const MESSAGE_LANGUAGES = ['en', 'ar', 'fr', 'es'] as const;

/** The message for `code` in `lang` (a primary tag such as "ar" or "ar-EG"), else `english`. */
export function localizedMessage(code: ErrorCode, lang: string | undefined, english: string): string {
  const primary = lang?.toLowerCase().split(/[-_]/)[0];
  return (primary && TRANSLATIONS[code]?.[primary]) || english;
}
