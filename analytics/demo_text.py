"""Case text for the demo history: pain-point topics with templates in several languages.

Each topic has subjects and descriptions in English and, for most, Spanish,
Portuguese and Indonesian, with slots ({handle}, {email}, {days}...) filled at
random. Topics share vocabulary on purpose ("account", "video", "report"), so
clustering them is neither trivial nor hopeless. Agent notes include hesitant
phrasing where a policy is unclear.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    key: str
    name: str
    category: str
    policy: str
    queue: str
    surfaces: tuple[str, ...]
    channels: tuple[str, ...]
    outcomes: tuple[tuple[str, float], ...]
    priority: tuple[float, float, float, float]  # low, normal, high, urgent
    share: float  # share of background volume
    slowness: float  # handling time relative to what the SLA target allows (1 = on target)
    sensitive: float = 0.0  # probability the case is marked sensitive
    overturn: float = 0.04  # probability an appealed decision is overturned
    appeal: float = 0.08  # probability the decision is appealed
    reopen: float = 0.04
    reporter: str = "user"
    subjects: dict[str, tuple[str, ...]] | None = None
    bodies: dict[str, tuple[str, ...]] | None = None


OPENERS = {
    "en": ("", "", "Hi team, ", "Hello, ", "URGENT: ", "Please help. ", "Hi, ", "Dear support, "),
    "es": ("", "", "Hola, ", "Buenas, ", "URGENTE: ", "Por favor ayuda. "),
    "pt": ("", "", "Olá, ", "Oi, ", "URGENTE: ", "Por favor me ajudem. "),
    "id": ("", "", "Halo, ", "Selamat siang, ", "MENDESAK: ", "Tolong bantu. "),
}
CLOSERS = {
    "en": (
        "",
        "",
        " Thanks.",
        " Please act fast.",
        " This is the third time I write.",
        " You can reach me at {email}.",
        " Call me on {phone} if needed.",
        " Regards, {name}.",
    ),
    "es": ("", "", " Gracias.", " Por favor actúen rápido.", " Mi correo es {email}."),
    "pt": ("", "", " Obrigado.", " Por favor ajam rápido.", " Meu email é {email}."),
    "id": ("", "", " Terima kasih.", " Mohon segera ditindak.", " Email saya {email}."),
}

T = Topic  # brevity below

TOPICS: tuple[Topic, ...] = (
    T(
        "account_hacked",
        "Account hacked, lost access",
        "Account security",
        "Account integrity",
        "High Risk",
        ("profile",),
        ("in-app report", "web form", "email"),
        (("account restored", 0.7), ("no action", 0.2), ("referred to security", 0.1)),
        (0.05, 0.35, 0.45, 0.15),
        0.07,
        1.0,
        subjects={
            "en": (
                "My account was hacked",
                "Hacked account",
                "Lost access to my account",
                "Someone took over my account",
            ),
            "es": ("Me hackearon la cuenta", "Perdí acceso a mi cuenta"),
            "pt": ("Minha conta foi hackeada", "Perdi acesso à minha conta"),
            "id": ("Akun saya diretas", "Tidak bisa masuk akun"),
        },
        bodies={
            "en": (
                "Someone hacked my account {handle} and changed the password and the email to {email}. I can't log in anymore.",
                "I lost access to my account {handle} after a login from another country. The recovery code never arrives.",
                "My account got hacked yesterday, they changed my phone number and are posting scam videos.",
                "Hacker took over {handle}, 2FA was turned off and my videos are being deleted.",
            ),
            "es": (
                "Alguien hackeó mi cuenta {handle} y cambió la contraseña y el correo. Ya no puedo entrar.",
                "Perdí el acceso a mi cuenta después de un inicio de sesión desconocido, el código nunca llega.",
            ),
            "pt": (
                "Alguém hackeou minha conta {handle} e mudou a senha e o email. Não consigo entrar.",
                "Perdi o acesso à minha conta depois de um login estranho, o código de recuperação não chega.",
            ),
            "id": (
                "Seseorang meretas akun saya {handle} dan mengganti kata sandi serta email. Saya tidak bisa masuk.",
                "Akun saya diambil alih, nomor telepon diganti dan mereka memposting video penipuan.",
            ),
        },
    ),
    T(
        "harassment_comments",
        "Harassment in comments",
        "Harassment",
        "Harassment & bullying",
        "Content Safety",
        ("comments", "video"),
        ("in-app report", "web form"),
        (("content removed", 0.75), ("no violation", 0.2), ("account warned", 0.05)),
        (0.2, 0.55, 0.2, 0.05),
        0.09,
        1.0,
        sensitive=0.1,
        subjects={
            "en": (
                "Harassment in my comments",
                "Bullying comments",
                "People insulting me in comments",
            ),
            "es": ("Acoso en mis comentarios", "Comentarios de bullying"),
            "pt": ("Assédio nos meus comentários", "Comentários de bullying"),
            "id": ("Pelecehan di komentar saya", "Komentar bullying"),
        },
        bodies={
            "en": (
                "A group of accounts keeps leaving insulting comments on every video I post, they call me names and tell me to quit.",
                "{handle} and his friends are bullying my daughter in the comments of her videos, mocking her appearance.",
                "I get dozens of hateful comments every day from the same people, I reported them but nothing happens.",
                "Coordinated harassment in my comment section after my last video, including threats.",
            ),
            "es": (
                "Un grupo de cuentas deja comentarios insultantes en todos mis videos y se burlan de mí.",
                "{handle} y sus amigos acosan a mi hija en los comentarios de sus videos.",
            ),
            "pt": (
                "Um grupo de contas deixa comentários ofensivos em todos os meus vídeos e zomba de mim.",
                "{handle} e os amigos estão fazendo bullying com minha filha nos comentários.",
            ),
            "id": (
                "Sekelompok akun terus meninggalkan komentar menghina di setiap video saya.",
                "{handle} dan teman-temannya merundung anak saya di kolom komentar.",
            ),
        },
    ),
    T(
        "hate_speech",
        "Hate speech in videos",
        "Hate speech",
        "Hate speech",
        "Content Safety",
        ("video", "LIVE"),
        ("in-app report", "trusted flagger", "web form"),
        (("content removed", 0.8), ("no violation", 0.15), ("account banned", 0.05)),
        (0.1, 0.5, 0.3, 0.1),
        0.06,
        1.0,
        sensitive=0.2,
        subjects={
            "en": ("Hate speech video", "Racist content", "Video attacking a religion"),
            "es": ("Video con discurso de odio", "Contenido racista"),
            "pt": ("Vídeo com discurso de ódio", "Conteúdo racista"),
        },
        bodies={
            "en": (
                "This video uses slurs against an ethnic group and calls for people to be expelled from the country.",
                "The creator {handle} posts racist jokes about immigrants in every video and the comments are worse.",
                "A LIVE stream is attacking a religious minority with dehumanising language right now.",
            ),
            "es": (
                "Este video usa insultos contra un grupo étnico y pide expulsarlos del país.",
                "El creador {handle} publica chistes racistas sobre inmigrantes en cada video.",
            ),
            "pt": (
                "Este vídeo usa insultos contra um grupo étnico e pede que sejam expulsos do país.",
                "O criador {handle} posta piadas racistas sobre imigrantes em todos os vídeos.",
            ),
        },
    ),
    T(
        "self_harm",
        "Self-harm content",
        "Self-harm",
        "Suicide & self-harm",
        "High Risk",
        ("video", "LIVE"),
        ("in-app report", "trusted flagger"),
        (("content removed", 0.6), ("resources sent", 0.35), ("no violation", 0.05)),
        (0.0, 0.1, 0.4, 0.5),
        0.035,
        0.9,
        sensitive=0.95,
        subjects={
            "en": ("Video showing self-harm", "Worried about a user", "Possible suicide risk"),
            "es": ("Video de autolesiones", "Preocupación por un usuario"),
            "pt": ("Vídeo de automutilação", "Preocupado com um usuário"),
            "id": ("Video menyakiti diri sendiri", "Khawatir dengan pengguna"),
        },
        bodies={
            "en": (
                "A teenager posted a video showing cuts on her arm and wrote that she wants to disappear.",
                "{handle} is saying goodbye to followers in a LIVE and talking about ending his life.",
                "Video encourages self-harm and shows methods, many young viewers in the comments.",
            ),
            "es": (
                "Una adolescente publicó un video mostrando cortes en el brazo y dice que quiere desaparecer.",
                "{handle} se está despidiendo en un LIVE y habla de quitarse la vida.",
            ),
            "pt": (
                "Uma adolescente postou um vídeo mostrando cortes no braço e diz que quer sumir.",
                "{handle} está se despedindo numa LIVE e falando em tirar a própria vida.",
            ),
            "id": (
                "Seorang remaja memposting video luka di lengannya dan menulis ingin menghilang.",
            ),
        },
    ),
    T(
        "minor_safety",
        "Minor safety in DMs",
        "Minor safety",
        "Minor safety",
        "High Risk",
        ("DM", "comments"),
        ("in-app report", "trusted flagger", "law enforcement"),
        (("account banned", 0.55), ("content removed", 0.25), ("referred to law enforcement", 0.2)),
        (0.0, 0.1, 0.4, 0.5),
        0.03,
        0.9,
        sensitive=0.95,
        subjects={
            "en": (
                "Adult messaging my child",
                "Grooming in DMs",
                "Inappropriate messages to a minor",
            ),
            "es": ("Un adulto escribe a mi hijo", "Mensajes inapropiados a una menor"),
            "pt": ("Adulto mandando mensagens para minha filha", "Mensagens impróprias para menor"),
        },
        bodies={
            "en": (
                "An adult account {handle} sends private messages to my 12 year old asking for photos and to keep it secret.",
                "My son received DMs from a stranger offering gifts in exchange for videos.",
                "A man is contacting several girls from the same school through direct messages.",
            ),
            "es": (
                "Una cuenta adulta {handle} envía mensajes privados a mi hija de 12 años pidiendo fotos.",
            ),
            "pt": (
                "Uma conta adulta {handle} manda mensagens privadas para minha filha de 12 anos pedindo fotos.",
            ),
        },
    ),
    T(
        "shop_scam",
        "Shop order scams",
        "Fraud",
        "Fraud & scams",
        "Commerce",
        ("shop",),
        ("web form", "email", "chat"),
        (("refund issued", 0.5), ("seller suspended", 0.3), ("no action", 0.2)),
        (0.25, 0.55, 0.15, 0.05),
        0.07,
        1.1,
        subjects={
            "en": ("Order never arrived", "Seller scammed me", "Fake product from shop"),
            "es": ("Mi pedido nunca llegó", "El vendedor me estafó"),
            "pt": ("Meu pedido nunca chegou", "Vendedor me enganou"),
            "id": ("Pesanan tidak pernah sampai", "Penjual menipu saya"),
        },
        bodies={
            "en": (
                "I paid for an order in the shop {days} days ago, the seller stopped answering and the tracking number is fake.",
                "The product I received is counterfeit and the seller {handle} refuses a refund.",
                "Seller asked me to pay outside the app and then blocked me.",
            ),
            "es": (
                "Pagué un pedido en la tienda hace {days} días, el vendedor dejó de responder.",
                "El producto es falso y el vendedor {handle} no quiere devolver el dinero.",
            ),
            "pt": (
                "Paguei um pedido na loja há {days} dias, o vendedor parou de responder.",
                "O produto é falsificado e o vendedor {handle} recusa o reembolso.",
            ),
            "id": (
                "Saya membayar pesanan di toko {days} hari lalu, penjual tidak menjawab lagi.",
                "Produk yang saya terima palsu dan penjual {handle} menolak pengembalian dana.",
            ),
        },
    ),
    T(
        "live_gifts",
        "LIVE gifts and coins problems",
        "Payments",
        "Fraud & scams",
        "Commerce",
        ("LIVE",),
        ("in-app report", "chat", "email"),
        (("refund issued", 0.45), ("no action", 0.4), ("account warned", 0.15)),
        (0.3, 0.5, 0.15, 0.05),
        0.05,
        1.0,
        subjects={
            "en": ("Coins disappeared", "LIVE gifts not credited", "Charged twice for coins"),
            "es": ("Mis monedas desaparecieron", "Regalos del LIVE no acreditados"),
            "pt": ("Minhas moedas sumiram", "Presentes da LIVE não creditados"),
            "id": ("Koin saya hilang", "Hadiah LIVE tidak masuk"),
        },
        bodies={
            "en": (
                "I bought coins to send gifts in a LIVE and the coins disappeared from my balance without sending anything.",
                "My LIVE gifts from last night were not credited to my creator balance.",
                "I was charged twice for the same coin package, please refund.",
            ),
            "es": ("Compré monedas para enviar regalos en un LIVE y desaparecieron de mi saldo.",),
            "pt": ("Comprei moedas para mandar presentes na LIVE e elas sumiram do meu saldo.",),
            "id": ("Saya membeli koin untuk hadiah LIVE dan koinnya hilang dari saldo saya.",),
        },
    ),
    T(
        "copyright",
        "Copyright claims",
        "Intellectual property",
        "Intellectual property",
        "Legal",
        ("video",),
        ("web form", "email", "legal"),
        (("content removed", 0.6), ("no violation", 0.3), ("counter-notice accepted", 0.1)),
        (0.3, 0.5, 0.15, 0.05),
        0.045,
        1.1,
        reporter="rights holder",
        subjects={
            "en": (
                "Copyright infringement",
                "My music used without permission",
                "Stolen video reuploaded",
            )
        },
        bodies={
            "en": (
                "The account {handle} reuploaded my original video without permission and it has more views than mine.",
                "My song is used in hundreds of videos without a licence, we represent the label.",
                "Please remove this content, it infringes our copyright, registration attached.",
            )
        },
    ),
    T(
        "privacy_doxxing",
        "Personal data exposed (doxxing)",
        "Privacy",
        "Privacy & personal data",
        "Content Safety",
        ("video", "comments", "DM"),
        ("in-app report", "web form", "email"),
        (("content removed", 0.8), ("no violation", 0.15), ("account banned", 0.05)),
        (0.05, 0.35, 0.4, 0.2),
        0.035,
        1.0,
        sensitive=0.6,
        subjects={
            "en": ("My address was posted", "Doxxing video", "Private photos shared"),
            "es": ("Publicaron mi dirección", "Compartieron mis fotos privadas"),
            "pt": ("Postaram meu endereço", "Compartilharam minhas fotos privadas"),
        },
        bodies={
            "en": (
                "A video shows my home address and phone number {phone} and asks people to visit me.",
                "Someone posted my private photos and my workplace, I am scared.",
                "{handle} shared screenshots of my private messages with my full name.",
            ),
            "es": ("Un video muestra mi dirección y mi teléfono {phone} y pide que me visiten.",),
            "pt": ("Um vídeo mostra meu endereço e telefone {phone} e pede para me visitarem.",),
        },
    ),
    T(
        "misleading_ads",
        "Misleading or scam ads",
        "Advertising",
        "Advertising policy",
        "Commerce",
        ("ads",),
        ("in-app report", "web form"),
        (("ad removed", 0.7), ("no violation", 0.25), ("advertiser suspended", 0.05)),
        (0.35, 0.5, 0.1, 0.05),
        0.035,
        1.0,
        subjects={
            "en": ("Scam ad", "Misleading advertisement", "Fake celebrity investment ad"),
            "es": ("Anuncio fraudulento", "Publicidad engañosa"),
            "id": ("Iklan penipuan", "Iklan menyesatkan"),
        },
        bodies={
            "en": (
                "An ad uses a famous presenter to promote a crypto investment that is obviously a scam.",
                "This advertisement promises miracle weight loss and links to a fake shop.",
            ),
            "es": (
                "Un anuncio usa a un presentador famoso para promocionar una inversión en cripto falsa.",
            ),
            "id": (
                "Sebuah iklan memakai artis terkenal untuk mempromosikan investasi kripto palsu.",
            ),
        },
    ),
    T(
        "ban_appeal",
        "Wrongful ban appeals",
        "Appeals",
        "Account integrity",
        "Appeals",
        ("profile",),
        ("web form", "email"),
        (("ban upheld", 0.6), ("account restored", 0.4)),
        (0.2, 0.6, 0.15, 0.05),
        0.05,
        1.3,
        appeal=0.3,
        overturn=0.1,
        subjects={
            "en": ("My account was banned by mistake", "Wrongful ban", "Please restore my account"),
            "es": ("Mi cuenta fue suspendida por error", "Restauren mi cuenta"),
            "pt": ("Minha conta foi banida por engano", "Restaurem minha conta"),
            "id": ("Akun saya diblokir karena kesalahan",),
        },
        bodies={
            "en": (
                "My account {handle} was banned for community guideline violations but I never posted anything wrong.",
                "I run a small business on my account and it was suspended without explanation.",
            ),
            "es": (
                "Mi cuenta {handle} fue suspendida por violar las normas pero nunca publiqué nada malo.",
            ),
            "pt": (
                "Minha conta {handle} foi banida por violar as diretrizes mas nunca postei nada errado.",
            ),
            "id": (
                "Akun saya {handle} diblokir karena pelanggaran pedoman padahal saya tidak melanggar apa pun.",
            ),
        },
    ),
    T(
        "appeal_not_answered",
        "Appeals not answered",
        "Appeals",
        "Appeals process",
        "Appeals",
        ("profile", "video"),
        ("web form", "email", "social"),
        (("appeal answered", 0.7), ("no action", 0.3)),
        (0.25, 0.6, 0.1, 0.05),
        0.10,
        1.8,
        subjects={
            "en": ("No answer to my appeal", "Appeal ignored", "Still waiting for appeal review"),
            "es": ("Nadie responde a mi apelación", "Sigo esperando mi apelación"),
            "pt": ("Ninguém responde meu recurso", "Ainda esperando a análise do recurso"),
            "id": ("Banding saya tidak dijawab", "Masih menunggu hasil banding"),
        },
        bodies={
            "en": (
                "I submitted an appeal {days} days ago and never got an answer, the status still says in review.",
                "My appeal about a removed video has been pending for weeks, nobody replies to my emails.",
                "This is my fourth appeal for the same video and I only get automatic replies.",
                "How long does an appeal take? It has been {days} days without any response.",
            ),
            "es": (
                "Envié una apelación hace {days} días y nunca recibí respuesta, sigue en revisión.",
                "Mi apelación por un video eliminado lleva semanas pendiente, nadie contesta.",
            ),
            "pt": (
                "Enviei um recurso há {days} dias e nunca tive resposta, continua em análise.",
                "Meu recurso sobre um vídeo removido está pendente há semanas, ninguém responde.",
            ),
            "id": (
                "Saya mengajukan banding {days} hari lalu dan tidak pernah mendapat jawaban.",
                "Banding saya untuk video yang dihapus masih tertunda berminggu-minggu.",
            ),
        },
    ),
    T(
        "data_request",
        "Personal data requests (GDPR)",
        "Data protection",
        "Privacy & personal data",
        "Regulatory/DSA",
        ("profile",),
        ("email", "web form", "regulator/authority"),
        (("data provided", 0.7), ("request rejected", 0.2), ("referred to legal", 0.1)),
        (0.2, 0.6, 0.15, 0.05),
        0.03,
        1.2,
        subjects={"en": ("Data access request", "GDPR request", "Delete my personal data")},
        bodies={
            "en": (
                "Under Article 15 GDPR I request a copy of all personal data you hold about my account {handle}.",
                "Please erase all my personal data and confirm in writing to {email}.",
            )
        },
    ),
    T(
        "dsa_notice",
        "DSA illegal content notices",
        "Illegal content",
        "Illegal content (DSA)",
        "Regulatory/DSA",
        ("video", "comments", "LIVE"),
        ("trusted flagger", "regulator/authority", "web form"),
        (("content removed", 0.55), ("geo-restricted", 0.25), ("no violation", 0.2)),
        (0.05, 0.45, 0.4, 0.1),
        0.05,
        1.0,
        reporter="trusted flagger",
        subjects={
            "en": (
                "Notice of illegal content under Article 16 DSA",
                "Trusted flagger notice",
                "Illegal content notice",
            )
        },
        bodies={
            "en": (
                "As a trusted flagger we notify the following video as illegal hate speech under national law, URL attached.",
                "Notice under Article 16 DSA: the content at the reported link is illegal in Germany, please act.",
                "The national authority requests removal of content offering illegal products, deadline 24 hours.",
            )
        },
    ),
    T(
        "law_enforcement",
        "Law enforcement requests",
        "Legal request",
        "Law enforcement response",
        "Legal",
        ("profile", "DM"),
        ("law enforcement", "email"),
        (("data disclosed", 0.5), ("request rejected", 0.3), ("preserved", 0.2)),
        (0.0, 0.3, 0.4, 0.3),
        0.02,
        1.0,
        reporter="law enforcement",
        sensitive=0.5,
        subjects={
            "en": (
                "Emergency disclosure request",
                "Preservation request",
                "Law enforcement data request",
            )
        },
        bodies={
            "en": (
                "Police request for subscriber information of account {handle} in an ongoing investigation, case number attached.",
                "Emergency request: imminent threat to life, please disclose last login IP for {handle}.",
            )
        },
    ),
    T(
        "leadership_escalation",
        "Leadership escalations for creators",
        "Creator escalation",
        "Creator partnerships",
        "Internal/Leadership",
        ("profile", "LIVE", "video"),
        ("internal/leadership",),
        (("resolved with creator", 0.7), ("no action", 0.3)),
        (0.0, 0.3, 0.5, 0.2),
        0.025,
        0.8,
        reporter="internal",
        subjects={
            "en": (
                "Escalation from leadership: top creator",
                "VIP creator issue",
                "Exec escalation",
            )
        },
        bodies={
            "en": (
                "Escalated by the regional director: a top creator {handle} lost monetisation after a strike, needs review today.",
                "Leadership asks for an update on the partner whose LIVE access was removed by mistake.",
            )
        },
    ),
    T(
        "verification",
        "Verification badge requests",
        "Account",
        "Account integrity",
        "Impersonation",
        ("profile",),
        ("web form", "email"),
        (("verified", 0.3), ("request rejected", 0.7)),
        (0.5, 0.45, 0.05, 0.0),
        0.03,
        1.2,
        subjects={
            "en": ("Verification request", "Blue badge for my account"),
            "es": ("Solicitud de verificación",),
            "pt": ("Pedido de verificação",),
        },
        bodies={
            "en": (
                "I am a public figure and request the verification badge for {handle} to stop fake accounts.",
            ),
            "es": (
                "Soy figura pública y solicito la verificación de {handle} para evitar cuentas falsas.",
            ),
            "pt": (
                "Sou figura pública e peço o selo de verificação para {handle} para evitar contas falsas.",
            ),
        },
    ),
    T(
        "impersonation",
        "Impersonation of creators",
        "Impersonation",
        "Impersonation",
        "Impersonation",
        ("profile",),
        ("in-app report", "web form", "email"),
        (("account banned", 0.75), ("no violation", 0.2), ("name change required", 0.05)),
        (0.1, 0.5, 0.3, 0.1),
        0.045,
        1.0,
        subjects={
            "en": (
                "Fake account pretending to be me",
                "Impersonation report",
                "Someone copied my profile",
            ),
            "es": ("Cuenta falsa haciéndose pasar por mí", "Suplantación de identidad"),
            "pt": ("Conta falsa fingindo ser eu", "Falsidade ideológica"),
            "id": ("Akun palsu menyamar sebagai saya", "Laporan peniruan identitas"),
        },
        bodies={
            "en": (
                "An account {handle} copied my name, profile photo and bio and is asking my followers for money.",
                "Someone created a fake profile pretending to be me and messages my fans with giveaway scams.",
                "There is an impersonator using my brand name and photos, my followers think it is me.",
            ),
            "es": (
                "Una cuenta {handle} copió mi nombre, foto y biografía y pide dinero a mis seguidores.",
                "Alguien creó un perfil falso haciéndose pasar por mí y estafa a mis fans.",
            ),
            "pt": (
                "Uma conta {handle} copiou meu nome, foto e bio e está pedindo dinheiro aos meus seguidores.",
                "Alguém criou um perfil falso fingindo ser eu e está aplicando golpes nos meus fãs.",
            ),
            "id": (
                "Akun {handle} meniru nama, foto profil, dan bio saya lalu meminta uang ke pengikut saya.",
                "Seseorang membuat profil palsu yang menyamar sebagai saya dan menipu penggemar saya.",
            ),
        },
    ),
    T(
        "spam_bots",
        "Spam and bot accounts",
        "Spam",
        "Spam & platform manipulation",
        "Content Safety",
        ("comments", "DM"),
        ("in-app report",),
        (("accounts removed", 0.7), ("no violation", 0.3)),
        (0.6, 0.35, 0.05, 0.0),
        0.05,
        0.9,
        subjects={
            "en": ("Spam bots in comments", "Bot accounts flooding DMs"),
            "es": ("Bots de spam en comentarios",),
            "id": ("Bot spam di komentar",),
        },
        bodies={
            "en": (
                "Hundreds of bot accounts post the same link in my comments every minute.",
                "I get spam DMs from accounts promoting followers for sale.",
            ),
            "es": ("Cientos de cuentas bot publican el mismo enlace en mis comentarios.",),
            "id": ("Ratusan akun bot memposting tautan yang sama di komentar saya.",),
        },
    ),
    T(
        "defamation",
        "Defamation and pre-litigation claims",
        "Legal claim",
        "Defamation",
        "Legal",
        ("video",),
        ("legal", "email"),
        (("content removed", 0.35), ("no violation", 0.45), ("referred to legal", 0.2)),
        (0.1, 0.5, 0.3, 0.1),
        0.02,
        1.1,
        reporter="lawyer",
        subjects={
            "en": ("Defamation claim on behalf of our client", "Legal notice: defamatory video")
        },
        bodies={
            "en": (
                "We act for our client regarding a video by {handle} that falsely accuses him of fraud; we reserve all rights.",
                "Formal notice before legal action: the content is defamatory and must be removed within 7 days.",
            )
        },
    ),
    # Planted scenario topics (their volume is set by the scenario, not by `share`).
    T(
        "satire_public_figures",
        "Satire of public figures",
        "Harassment",
        "Public-figure satire",
        "Content Safety",
        ("video",),
        ("in-app report", "web form", "trusted flagger"),
        (("content removed", 0.5), ("no violation", 0.5)),
        (0.15, 0.6, 0.2, 0.05),
        0.0,
        1.0,
        appeal=0.3,
        overturn=0.4,
        reopen=0.15,
        subjects={
            "en": (
                "Parody video of a politician",
                "Mocking video of a public figure",
                "Satirical deepfake of minister",
            ),
            "es": ("Video de parodia de un político", "Video burlándose de una figura pública"),
            "pt": ("Vídeo de paródia de um político", "Vídeo zombando de uma figura pública"),
        },
        bodies={
            "en": (
                "A parody video edits the minister's face onto a clown and puts words in his mouth, is this allowed?",
                "This satirical video of a famous singer exaggerates her accent, fans say it is harassment.",
                "A comedy account makes fun of a mayor with an edited video, some viewers think it is real.",
            ),
            "es": (
                "Un video de parodia pone la cara del ministro en un payaso y le hace decir cosas, ¿está permitido?",
                "Este video satírico de una cantante famosa exagera su acento, los fans dicen que es acoso.",
            ),
            "pt": (
                "Um vídeo de paródia coloca o rosto do ministro num palhaço e inventa falas, isso é permitido?",
                "Este vídeo satírico de uma cantora famosa exagera o sotaque dela, os fãs dizem que é assédio.",
            ),
        },
    ),
    T(
        "viral_challenge",
        "Dangerous viral challenge",
        "Dangerous acts",
        "Dangerous activities & challenges",
        "High Risk",
        ("video", "LIVE"),
        ("in-app report", "trusted flagger", "web form"),
        (("content removed", 0.85), ("no violation", 0.05), ("account banned", 0.1)),
        (0.0, 0.1, 0.4, 0.5),
        0.0,
        0.9,
        sensitive=0.9,
        subjects={
            "es": (
                "Niños haciendo el #RetoApagon",
                "Reto peligroso #RetoApagon",
                "Video del reto del apagón",
            ),
            "pt": (
                "Crianças fazendo o #RetoApagon",
                "Desafio perigoso #RetoApagon",
                "Vídeo do desafio do apagão",
            ),
            "en": ("Kids doing the #RetoApagon challenge", "Dangerous #RetoApagon challenge video"),
        },
        bodies={
            "es": (
                "Mi hijo vio videos del #RetoApagon donde chicos aguantan la respiración hasta desmayarse, hay muchos.",
                "El reto del apagón #RetoApagon se está volviendo viral en la escuela, un niño terminó en el hospital.",
                "Hay un LIVE donde adolescentes hacen el #RetoApagon, por favor bórrenlo ya.",
            ),
            "pt": (
                "Meu filho viu vídeos do #RetoApagon em que jovens prendem a respiração até desmaiar.",
                "O desafio do apagão #RetoApagon está viralizando na escola, uma criança foi parar no hospital.",
            ),
            "en": (
                "Teenagers are filming the #RetoApagon blackout challenge, holding their breath until they faint.",
            ),
        },
    ),
    T(
        "report_button_bug",
        "Report button broken after update",
        "Product issue",
        "Reporting tools",
        "Content Safety",
        ("in-app reporting",),
        ("web form", "email", "social"),
        (("bug acknowledged", 0.8), ("no action", 0.2)),
        (0.1, 0.6, 0.25, 0.05),
        0.0,
        1.0,
        subjects={
            "en": (
                "Report button does nothing",
                "Can't report a video after update",
                "Error when submitting a report",
            ),
            "es": ("El botón de reportar no funciona", "Error al enviar una denuncia"),
            "pt": ("O botão de denunciar não funciona", "Erro ao enviar denúncia"),
            "id": ("Tombol laporkan tidak berfungsi", "Gagal mengirim laporan"),
        },
        bodies={
            "en": (
                "Since the last app update the report button spins forever and nothing is submitted, I had to use this form.",
                "When I try to report a harmful video I get 'Something went wrong, try again later' every time.",
                "The report flow crashes after choosing a reason, version {version}. Please fix, I need to report abuse.",
            ),
            "es": (
                "Desde la última actualización el botón de reportar se queda cargando y no envía nada.",
                "Cuando intento denunciar un video sale 'Algo salió mal', versión {version}.",
            ),
            "pt": (
                "Desde a última atualização o botão de denunciar fica carregando e não envia nada.",
                "Quando tento denunciar um vídeo aparece 'Algo deu errado', versão {version}.",
            ),
            "id": ("Sejak pembaruan terakhir tombol laporkan terus memuat dan tidak terkirim.",),
        },
    ),
)

TOPIC_BY_KEY = {t.key: t for t in TOPICS}

AGENT_NOTES = {
    "clear": (
        "Checked against policy, clear violation, actioned.",
        "Verified account ownership, restored access.",
        "No violation found after review.",
        "Standard case, followed SOP step 3.",
        "Actioned per guideline, user informed.",
        "Duplicate of earlier report, merged.",
        "Escalated to specialist queue, resolved same day.",
    ),
    "hesitant": (
        "Unclear whether the satire exception applies here, consulted policy lead.",
        "Not covered by the SOP, discussed with team lead before deciding.",
        "Borderline: parody or harassment? Second opinion requested.",
        "SOP is ambiguous on edited videos of public figures, went with removal.",
        "Hesitant, similar case last week was left up. Consulted policy.",
        "No está claro si aplica la excepción de sátira, consulté con política.",
        "Não está claro se é paródia permitida, consultei a equipe de política.",
        "Tidak jelas apakah ini satire, konsultasi dengan tim kebijakan.",
        "Grey area, decided to keep it up pending policy guidance.",
    ),
}

FIRST_NAMES = (
    "Ana",
    "Budi",
    "Carlos",
    "Dewi",
    "Emma",
    "Felipe",
    "Grace",
    "Hiro",
    "Isabel",
    "João",
    "Kemal",
    "Lucia",
    "Mateo",
    "Nadia",
    "Oliver",
    "Putri",
    "Rafael",
    "Sofia",
)
